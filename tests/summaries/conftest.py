import pytest

from podcasts.models import Episode, Podcast, Transcript
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.transcripts import short_transcript
from tests.web.factories import make_podcast, make_user  # noqa: F401  (fixtures)


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


def make_episode(*, status=Episode.PipelineStatus.TRANSCRIBED, transcript=None, guid="ep-1", title="Compost") -> Episode:
    podcast, _ = Podcast.objects.get_or_create(feed_url="https://example.com/feed.xml", defaults={"title": "Garden Talk"})
    episode = Episode.objects.create(podcast=podcast, guid=guid, title=title, pipeline_status=status)
    data = transcript or short_transcript()
    Transcript.objects.create(
        episode=episode,
        source=Transcript.Source.WHISPER,
        segments=data["segments"],
        text=data["text"],
        duration=data["segments"][-1]["end"],
    )
    return episode


@pytest.fixture
def episode(db) -> Episode:
    return make_episode()
