"""Helpers and paths shared by the pipeline tests (their fixtures live in tests/podcasts/conftest.py)."""

import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEMO_AUDIO = Path(__file__).resolve().parents[2] / "podcasts" / "demo" / "audio"
JFK_REFERENCE = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def queue_jobs(name: str) -> list[tuple[str, list]]:
    """(function name, args) of every job waiting on queue `name`."""
    import django_rq

    queue = django_rq.get_queue(name)
    return [(job.func_name, list(job.args)) for job in queue.get_jobs()]


def copy_audio(source: Path, media_root: Path, relative: str) -> str:
    target = media_root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return relative


def demo_vtt(number: int = 1) -> bytes:
    """A publisher WebVTT transcript of demo episode `number`: one 4-second cue per sentence."""
    import re

    text = (DEMO_AUDIO / f"episode-{number}.txt").read_text().strip()
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    cues = ["WEBVTT", ""]
    for i, sentence in enumerate(sentences):
        cues += [f"00:00:{i * 4:02d}.000 --> 00:00:{i * 4 + 4:02d}.000", sentence, ""]
    return "\n".join(cues).encode()
