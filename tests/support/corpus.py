"""Episodes of the shared transcript corpus (segments, metadata.toml, truth.txt), as the
tests (copies in tests/fixtures/corpus/) and the benchmarks (../shared/corpus) read them."""

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
# Beside the repository, as CI lays it out; CORPUS_DIR overrides (e.g. from a git worktree).
SHARED = Path(os.environ.get("CORPUS_DIR") or Path(__file__).resolve().parents[3] / "shared" / "corpus" / "transcripts")


@dataclass
class CorpusEpisode:
    name: str
    podcast: str
    title: str
    description: str
    duration: float
    segments: list[dict]
    ads: list[tuple[float, float, str]] = field(default_factory=list)

    def transcript_json(self) -> dict:
        """The `summarize_transcript` input for this episode."""
        return {"segments": self.segments, "title": self.title, "podcast": self.podcast, "description": self.description}


def _clock(value: str) -> float:
    """`m:ss`, `h:mm:ss` or `mmm:ss` (minutes past 59 occur), decimals allowed."""
    seconds = 0.0
    for part in value.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def truth_parse(text: str) -> list[tuple[float, float, str]]:
    """Ad spans of a truth.txt: `start:`/`end:`/`text:` blocks split by `---`; `#` lines ignored."""
    spans = []
    for block in text.split("---"):
        fields = {}
        for line in block.splitlines():
            if line.lstrip().startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            if key.strip() in ("start", "end", "text"):
                fields[key.strip()] = value.strip()
        if "start" in fields and "end" in fields:
            spans.append((_clock(fields["start"]), _clock(fields["end"]), fields.get("text", "")[:80]))
    return sorted(spans)


def episode_load(path: Path) -> CorpusEpisode:
    meta = tomllib.loads((path / "metadata.toml").read_text(encoding="utf-8"))
    return CorpusEpisode(
        name=path.name,
        podcast=meta.get("podcast_name", ""),
        title=meta.get("title", ""),
        description=meta.get("description", ""),
        duration=float(meta.get("duration", 0.0)),
        segments=json.loads((path / "segments.json").read_text(encoding="utf-8")),
        ads=truth_parse((path / "truth.txt").read_text(encoding="utf-8")),
    )


def fixture_episode(name: str) -> CorpusEpisode:
    return episode_load(FIXTURES / name)
