# Fixtures shared by tests in this directory that do not import them themselves.
from tests.web.factories import make_podcast, make_user  # noqa: F401  (fixtures)
