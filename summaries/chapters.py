"""An episode's chapters as Podcasting 2.0 JSON Chapters (version 1.2.0).

Where they come from, in order: the current summary's chapters; else the
publisher's own inline chapters (podcast:chapters / Podlove, stored by the feed
parser on Episode.chapters). Ad breaks are added as `toc: false` chapters once
sponsor spans exist (`ad_break_chapters`).
"""

import math
from dataclasses import dataclass
from typing import Any

from podcasts.models import Episode
from summaries.models import Summary

JSON_CHAPTERS_VERSION = "1.2.0"
JSON_CHAPTERS_CONTENT_TYPE = "application/json+chapters"
MAX_CHAPTERS = 500


@dataclass(frozen=True, slots=True)
class Chapter:
    start: float
    title: str
    toc: bool = True
    source: str = "summary"

    @property
    def npt(self) -> str:
        """The start as normal play time (HH:MM:SS.mmm), for Podlove Simple Chapters."""
        millis = int(round(self.start * 1000))
        hours, rest = divmod(millis, 3_600_000)
        minutes, rest = divmod(rest, 60_000)
        seconds, millis = divmod(rest, 1000)
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _start(value: Any) -> float | None:
    try:
        start = float(value)
    except (TypeError, ValueError):
        return None
    return start if math.isfinite(start) and start >= 0 else None


def _from_rows(rows: Any, *, source: str) -> list[Chapter]:
    chapters = []
    for row in (rows if isinstance(rows, list) else [])[:MAX_CHAPTERS]:
        if not isinstance(row, dict):
            continue
        start = _start(row.get("start"))
        title = str(row.get("title") or "").strip()
        if start is None or not title:
            continue
        chapters.append(Chapter(start=start, title=title[:500], source=source))
    return chapters


def summary_chapters(summary: Summary | None) -> list[Chapter]:
    return _from_rows((summary.content or {}).get("chapters"), source="summary") if summary else []


def publisher_chapters(episode: Episode) -> list[Chapter]:
    return _from_rows(episode.chapters, source="publisher")


def ad_break_chapters(*, episode_id: int) -> list[Chapter]:
    """Ad breaks as `toc: false` chapters. Empty until sponsor spans (podcasts.AdSpan) land:
    then one chapter per span start titled "Sponsor", and one at its end resuming
    the chapter it interrupted."""
    return []


def sponsor_spans(*, episode_id: int) -> list[dict]:
    """The episode's ad spans [{start, end, kind}] for the API. Empty until podcasts.AdSpan lands."""
    return []


def episode_chapters(*, episode: Episode, summary: Summary | None) -> list[Chapter]:
    """The chapters shown for an episode, by start time (see the module docstring for the order of sources)."""
    chapters = summary_chapters(summary) or publisher_chapters(episode)
    chapters = chapters + ad_break_chapters(episode_id=episode.pk)
    return sorted(chapters, key=lambda chapter: chapter.start)


def chapters_document(*, episode: Episode, chapters: list[Chapter]) -> dict:
    """The JSON Chapters document: version, chapters [{startTime, title, toc?}]."""
    items = []
    for chapter in chapters:
        start = int(chapter.start) if float(chapter.start).is_integer() else round(float(chapter.start), 3)
        item: dict[str, Any] = {"startTime": start, "title": chapter.title}
        if not chapter.toc:
            item["toc"] = False
        items.append(item)
    document: dict[str, Any] = {"version": JSON_CHAPTERS_VERSION, "chapters": items}
    if episode.title:
        document["title"] = episode.title
    if getattr(episode, "podcast", None) is not None and episode.podcast.title:
        document["podcastName"] = episode.podcast.title
    return document
