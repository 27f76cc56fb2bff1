"""Corpus fixtures shared by the sponsor-detection tests (imported by each test module)."""

from pathlib import Path

import pytest

from podcasts.sponsors.corpus import CorpusEpisode, load_corpus
from podcasts.sponsors.training import fit_corpus

SPONSOR_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sponsors"
NO_AD_EPISODE = "ep-ai-cloud-essentials-e8dc897fbd6b"
# Held out of the model the tests fit; every other fixture podcast trains it.
HELD_OUT = ("ep-ai-cloud-essentials-e8dc897fbd6b", "ep-crime-junkie-8ce498f299d7")


@pytest.fixture(scope="session")
def corpus() -> dict[str, CorpusEpisode]:
    return {episode.name: episode for episode in load_corpus(SPONSOR_FIXTURES)}


@pytest.fixture(scope="session")
def held_out_model(corpus):
    """A model fitted without the held-out podcasts, as leave-one-podcast-out does."""
    held = {corpus[name].podcast for name in HELD_OUT}
    return fit_corpus([e for e in corpus.values() if e.podcast not in held])
