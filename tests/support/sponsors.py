"""Paths and names of the sponsor-detection fixtures (the fixtures live in tests/podcasts/conftest.py)."""

from pathlib import Path

SPONSOR_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sponsors"
NO_AD_EPISODE = "ep-ai-cloud-essentials-e8dc897fbd6b"
# Held out of the model the tests fit; every other fixture podcast trains it.
HELD_OUT = ("ep-ai-cloud-essentials-e8dc897fbd6b", "ep-crime-junkie-8ce498f299d7")
