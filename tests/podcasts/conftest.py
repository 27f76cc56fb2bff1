import pytest

from podcasts.models import Podcast
from tests.factories import make_podcast
from tests.support.pipeline import DEMO_AUDIO, FIXTURES


@pytest.fixture(scope="session")
def whisper_model():
    """The real bundled model, loaded once for the whole test session."""
    from podcasts.transcription import get_model

    return get_model()


@pytest.fixture
def jfk_bytes() -> bytes:
    return (FIXTURES / "jfk.flac").read_bytes()


@pytest.fixture
def demo_mp3() -> bytes:
    return (DEMO_AUDIO / "episode-1.mp3").read_bytes()


@pytest.fixture
def podcast(db) -> Podcast:
    return make_podcast("Field Notes", feed_url="https://example.com/feed.xml", language="en")
