"""Episodes of the shared transcript corpus (segments, metadata.toml, truth.txt), as the
tests (copies in tests/fixtures/sponsors/, segments gzipped) and the benchmarks
(../shared/corpus) read them, with each ad span's text kept as its label."""

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from podcasts.sponsors.corpus import load_episode
from summaries.llm.language import fold

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sponsors"
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


def _inside(t: float, ads) -> bool:
    return any(start <= t < end for start, end, *_ in ads)


def _ad_and_rest_text(segments: list[dict], ads) -> tuple[str, str]:
    """(folded text said inside ad spans, folded text said outside), word by word where the
    segments have word timings."""
    inside, outside = [], []
    for segment in segments:
        words = segment.get("words") or []
        if words:
            for word in words:
                (inside if _inside((word["start"] + word["end"]) / 2, ads) else outside).append(word["word"])
        else:
            (inside if _inside(segment["start"], ads) else outside).append(segment["text"])
    return fold(" ".join(inside)), fold(" ".join(outside))


def summary_leaks(content: dict, segments: list[dict], ads) -> list[str]:
    """Summary items whose source lies inside an ad span: a sentence (TL;DR, key point, quote)
    found in the ads' text (partial_ratio >= 90 on folded text); a quote or chapter starting
    inside a span; a chapter-title part or topic said inside the ads and never outside them."""
    ad_text, rest_text = _ad_and_rest_text(segments, ads)
    leaks: list[str] = []
    if not ads:
        return leaks
    padded_ads, padded_rest = f" {ad_text} ", f" {rest_text} "

    def sentence_from_ads(text: str) -> bool:
        needle = fold(text)
        if len(needle.split()) < 4:
            return False
        return needle in ad_text or fuzz.partial_ratio(needle, ad_text) >= 90 and fuzz.partial_ratio(needle, rest_text) < 90

    def term_from_ads(term: str) -> bool:
        needle = f" {fold(term)} "
        return needle in padded_ads and needle not in padded_rest

    for sentence in re.split(r"(?<=[.!?])\s+", content["tldr"]):
        if sentence_from_ads(sentence):
            leaks.append(f"tldr: {sentence}")
    leaks += [f"key point: {p}" for p in content["key_points"] if sentence_from_ads(p)]
    for quote in content["quotes"]:
        if sentence_from_ads(quote["text"]) or _inside(quote["start"], ads):
            leaks.append(f"quote: {quote['text']}")
    for chapter in content["chapters"]:
        parts = re.split(r"\s+(?:and|&)\s+|,\s*", chapter["title"])
        if _inside(chapter["start"], ads) or any(term_from_ads(p) for p in parts if p):
            leaks.append(f"chapter: {chapter['title']} at {chapter['start']}")
    leaks += [f"topic: {t}" for t in content["topics"] if term_from_ads(t)]
    return leaks


def episode_load(path: Path) -> CorpusEpisode:
    meta = tomllib.loads((path / "metadata.toml").read_text(encoding="utf-8"))
    return CorpusEpisode(
        name=path.name,
        podcast=meta.get("podcast_name", ""),
        title=meta.get("title", ""),
        description=meta.get("description", ""),
        duration=float(meta.get("duration", 0.0)),
        segments=load_episode(path).segments,
        ads=truth_parse((path / "truth.txt").read_text(encoding="utf-8")),
    )


def fixture_episode(name: str) -> CorpusEpisode:
    return episode_load(FIXTURES / name)
