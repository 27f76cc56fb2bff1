from tests.web.factories import *  # noqa: F401,F403  (fixtures shared with tests/summaries/test_regeneration*.py)
