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


@pytest.fixture(scope="session")
def corpus():
    """The sponsor-detection fixture episodes (MinusPod's corpus, MIT), by folder name."""
    from podcasts.sponsors.corpus import load_corpus
    from tests.support.sponsors import SPONSOR_FIXTURES

    return {episode.name: episode for episode in load_corpus(SPONSOR_FIXTURES)}


@pytest.fixture(scope="session")
def held_out_model(corpus):
    """A sponsor model fitted without the held-out podcasts, as leave-one-podcast-out does."""
    from podcasts.sponsors.training import fit_corpus
    from tests.support.sponsors import HELD_OUT

    held = {corpus[name].podcast for name in HELD_OUT}
    return fit_corpus([e for e in corpus.values() if e.podcast not in held])
