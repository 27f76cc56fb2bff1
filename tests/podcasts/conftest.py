# Fixtures shared by tests in this directory that do not import them themselves.
from tests.support.pipeline import demo_mp3, make_episode, podcast  # noqa: F401  (fixtures)
from tests.web.factories import make_user  # noqa: F401  (fixture)
