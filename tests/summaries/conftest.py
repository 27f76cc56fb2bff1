import pytest

from podcasts.models import Episode
from tests.factories import make_transcribed_episode
from tests.fakes.anthropic_server import FakeAnthropic


@pytest.fixture
def fake_anthropic(settings):
    """The real SDK pointed at a local fake Messages API, with tiny timeouts and waits."""
    server = FakeAnthropic().start()
    settings.ANTHROPIC_API_KEY = "sk-test-fake"
    settings.ANTHROPIC_BASE_URL = server.url
    settings.SUMMARY_PROVIDER = "anthropic"
    settings.ANTHROPIC_MODEL = "claude-haiku-4-5"
    settings.ANTHROPIC_TIMEOUT = 1.0
    settings.ANTHROPIC_MAX_RETRIES = 2
    settings.ANTHROPIC_RETRY_BACKOFF = 0.01
    settings.ANTHROPIC_RETRY_AFTER_MAX = 0.2
    settings.SUMMARY_DEADLINE_SECONDS = 30.0
    yield server
    server.stop()


@pytest.fixture
def extractive(settings):
    settings.SUMMARY_PROVIDER = "extractive"
    settings.ANTHROPIC_API_KEY = ""


@pytest.fixture
def episode(db) -> Episode:
    return make_transcribed_episode()
