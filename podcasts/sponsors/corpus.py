"""Reading the labelled corpus (MinusPod's layout, see shared/corpus/transcripts/README.md)."""

import gzip
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CorpusEpisode:
    name: str
    podcast: str
    title: str
    description: str
    duration: float
    segments: list[dict] = field(repr=False)
    truth: list[tuple[float, float]]


def parse_timestamp(value: str) -> float:
    """`m:ss`, `h:mm:ss` or `mm:ss.cc` (minutes may exceed 59) as seconds."""
    seconds = 0.0
    for part in value.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def parse_truth(text: str) -> list[tuple[float, float]]:
    """The `start:` / `end:` blocks of a truth.txt; lines starting with `#` are comments."""
    spans: list[tuple[float, float]] = []
    start = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        if key == "start":
            start = parse_timestamp(value)
        elif key == "end" and start is not None:
            spans.append((start, parse_timestamp(value)))
            start = None
    return sorted(spans)


def _segments_path(folder: Path) -> Path:
    # Test fixtures keep the segments gzipped.
    plain = folder / "segments.json"
    return plain if plain.is_file() else folder / "segments.json.gz"


def load_episode(folder: Path) -> CorpusEpisode:
    meta = tomllib.loads((folder / "metadata.toml").read_text(encoding="utf-8"))
    path = _segments_path(folder)
    raw = path.read_bytes()
    segments = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    return CorpusEpisode(
        name=folder.name,
        podcast=meta.get("podcast_slug") or meta.get("podcast_name") or folder.name,
        title=meta.get("title", ""),
        description=meta.get("description", ""),
        duration=float(meta.get("duration") or (segments[-1]["end"] if segments else 0.0)),
        segments=segments,
        truth=parse_truth((folder / "truth.txt").read_text(encoding="utf-8")),
    )


def load_corpus(root: Path) -> list[CorpusEpisode]:
    """Every `ep-*/` folder under root that has segments and a truth file, sorted by name."""
    folders = sorted(p for p in Path(root).iterdir() if p.is_dir() and (p / "truth.txt").is_file())
    return [load_episode(folder) for folder in folders if _segments_path(folder).is_file()]
