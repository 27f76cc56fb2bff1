"""Publisher transcripts (podcast:transcript in WebVTT, SRT, Podcasting 2.0 JSON) and exports.

Parsing is strict enough to refuse what is not a transcript (an HTML error page,
a truncated file): the caller then falls back to whisper. Exports render a
stored Transcript's segments as WebVTT, SRT, JSON or plain text.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from podcasts.fetch import FetchError, fetch_bytes, shown_url

logger = logging.getLogger("castnotes.transcripts")


class TranscriptParseError(ValueError):
    """The document is not a usable transcript in the format it claims."""


# Formats by MIME type (Podcasting 2.0 namespace docs) and by file extension.
FORMAT_BY_TYPE = {
    "text/vtt": "vtt",
    "application/json": "json",
    "application/srt": "srt",
    "application/x-subrip": "srt",
    "text/srt": "srt",
}
FORMAT_BY_SUFFIX = {".vtt": "vtt", ".json": "json", ".srt": "srt"}
# Preference when a feed offers several: timed JSON and VTT carry the most structure.
FORMAT_RANK = {"json": 0, "vtt": 1, "srt": 2}

_TIMESTAMP = r"(?:(\d{1,6}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
# No episode lasts a week: a time past it (or NaN, infinity, below zero) is a broken or
# hostile file, refused at parse so it never reaches storage, exports or players.
MAX_TIME_SECONDS = 7 * 24 * 3600
_CUE_TIMING = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}")
_TAG = re.compile(r"<[^>]*>")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>")


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")[:3]) / 1000


def _checked_times(start: float, end: float, *, where: str) -> tuple[float, float]:
    for name, value in (("start", start), ("end", end)):
        if not math.isfinite(value) or not 0 <= value <= MAX_TIME_SECONDS:
            raise TranscriptParseError(f"{where}: impossible {name} time {value!r} (must be 0 to {MAX_TIME_SECONDS} s).")
    if end < start:
        raise TranscriptParseError(f"{where}: ends before it starts at {start:.3f} s.")
    return start, end


def _clean(text: str) -> str:
    import html

    return re.sub(r"\s+", " ", html.unescape(_TAG.sub("", text))).strip()


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or head.startswith("<html") or "<body" in head or "<head" in head


def _parse_cues(text: str, *, vtt: bool) -> list[dict[str, Any]]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    segments: list[dict[str, Any]] = []
    i = 0
    while i < len(lines):
        match = _CUE_TIMING.match(lines[i])
        if not match:
            i += 1
            continue
        g = match.groups()
        start, end = _seconds(*g[0:4]), _seconds(*g[4:8])
        i += 1
        body = []
        while i < len(lines) and lines[i].strip():
            body.append(lines[i])
            i += 1
        raw = " ".join(body)
        speaker = ""
        if vtt:
            voice = _VOICE.search(raw)
            speaker = voice.group(1).strip() if voice else ""
        cue_text = _clean(raw)
        start, end = _checked_times(start, end, where="Cue")
        if cue_text:
            segment = {"start": round(start, 3), "end": round(end, 3), "text": cue_text}
            if speaker:
                segment["speaker"] = speaker
            segments.append(segment)
    return segments


def parse_vtt(text: str) -> list[dict[str, Any]]:
    if not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise TranscriptParseError("Not WebVTT: the file does not start with WEBVTT.")
    segments = _parse_cues(text, vtt=True)
    if not segments:
        raise TranscriptParseError("WebVTT file has no cues.")
    return segments


def parse_srt(text: str) -> list[dict[str, Any]]:
    segments = _parse_cues(text.lstrip("\ufeff"), vtt=False)
    if not segments:
        raise TranscriptParseError("Not SRT: no timed cues found.")
    return segments


def parse_json(text: str) -> list[dict[str, Any]]:
    """Podcasting 2.0 JSON: {"version": "1.0.0", "segments": [{"startTime", "endTime", "body", "speaker"?}]}."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise TranscriptParseError(f"Invalid JSON transcript: {exc.msg} at line {exc.lineno}.") from exc
    raw_segments = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(raw_segments, list) or not raw_segments:
        raise TranscriptParseError("JSON transcript has no segments list.")
    segments = []
    for number, raw in enumerate(raw_segments, start=1):
        if not isinstance(raw, dict):
            raise TranscriptParseError("JSON transcript segment is not an object.")
        try:
            start, end = float(raw["startTime"]), float(raw["endTime"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise TranscriptParseError("JSON transcript segment lacks a numeric startTime/endTime.") from exc
        start, end = _checked_times(start, end, where=f"JSON transcript segment {number}")
        body = _clean(str(raw.get("body", "")))
        if not body:
            continue
        segment = {"start": round(start, 3), "end": round(end, 3), "text": body}
        if raw.get("speaker"):
            segment["speaker"] = str(raw["speaker"])[:200]
        segments.append(segment)
    if not segments:
        raise TranscriptParseError("JSON transcript has only empty segments.")
    return _merge_words(segments)


def _refuse_constant(name: str):
    raise TranscriptParseError(f"JSON transcript has a non-finite number ({name}).")


def _merge_words(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Word-level JSON (one word per segment) becomes sentence-sized segments that keep their words.

    Each word keeps the publisher's timing, in whisper's shape
    ({start, end, word, probability}, no probability known).
    """
    if len(segments) < 10 or sum(len(s["text"].split()) for s in segments) > 2 * len(segments):
        return segments
    merged: list[dict[str, Any]] = []
    for seg in segments:
        word = {"start": seg["start"], "end": seg["end"], "word": f" {seg['text']}", "probability": None}
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.get("speaker") == seg.get("speaker")
            and not re.search(r"[.!?]$", last["text"])
            and seg["start"] - last["end"] < 1.5
            and len(last["text"]) < 300
        ):
            last["text"] = f"{last['text']} {seg['text']}"
            last["end"] = seg["end"]
            last["words"].append(word)
        else:
            merged.append({**seg, "words": [word]})
    return merged


PARSERS = {"vtt": parse_vtt, "srt": parse_srt, "json": parse_json}


def detect_format(*, declared_type: str, url: str) -> str | None:
    """The transcript format from its declared MIME type, else its URL's extension; None if unsupported."""
    mime = declared_type.split(";", 1)[0].strip().lower()
    if mime in FORMAT_BY_TYPE:
        return FORMAT_BY_TYPE[mime]
    if mime and mime not in ("application/octet-stream", "text/plain"):
        return None  # e.g. text/html: a page, not timed segments
    path = url.split("?", 1)[0].lower()
    for suffix, fmt in FORMAT_BY_SUFFIX.items():
        if path.endswith(suffix):
            return fmt
    return None


def parse_transcript(body: bytes, fmt: str) -> list[dict[str, Any]]:
    """Parse a publisher transcript document into segments; TranscriptParseError when unusable."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptParseError("Transcript is not UTF-8 text.") from exc
    if _looks_like_html(text):
        raise TranscriptParseError("Transcript URL returned an HTML page, not a transcript.")
    segments = PARSERS[fmt](text)
    if not any(s["end"] > 0 for s in segments):
        raise TranscriptParseError("Transcript has no timing.")
    return segments


@dataclass
class PublisherTranscript:
    url: str
    format: str
    segments: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return " ".join(s["text"] for s in self.segments)

    @property
    def duration(self) -> float:
        return max(s["end"] for s in self.segments)


def transcript_candidates(episode) -> list[tuple[str, str]]:
    """(url, format) for each parseable podcast:transcript of the episode, best first."""
    links = list(episode.transcript_links or [])
    if episode.transcript_url:
        links.append({"url": episode.transcript_url, "type": episode.transcript_type})
    seen: set[str] = set()
    found = []
    for link in links:
        if not isinstance(link, dict):
            continue
        url = str(link.get("url") or "")
        if not url or url in seen:
            continue
        seen.add(url)
        fmt = detect_format(declared_type=str(link.get("type") or ""), url=url)
        if fmt:
            found.append((url, fmt))
    return sorted(found, key=lambda pair: FORMAT_RANK[pair[1]])


def publisher_transcript_fetch(episode) -> tuple[PublisherTranscript | None, str]:
    """Fetch and parse the episode's best publisher transcript; (None, why) when there is none usable."""

    problems = []
    for url, fmt in transcript_candidates(episode):
        try:
            result = fetch_bytes(
                url, max_bytes=settings.TRANSCRIPT_MAX_BYTES, accept="text/vtt, application/json, application/srt, */*;q=0.1"
            )
            if result.headers.get("content-type", "").split(";")[0].strip().lower() == "text/html":
                raise TranscriptParseError("Transcript URL returned an HTML page, not a transcript.")
            segments = parse_transcript(result.body, fmt)
        except (FetchError, TranscriptParseError) as exc:
            problems.append(f"{fmt} {shown_url(url)}: {exc}")
            logger.info(
                "publisher_transcript_unusable",
                extra={
                    "event": "publisher_transcript_unusable",
                    "episode_id": episode.pk,
                    "format": fmt,
                    "error": str(exc)[:300],
                },
            )
            continue
        return PublisherTranscript(url=url, format=fmt, segments=segments), ""
    return None, "; ".join(problems) or "no podcast:transcript in a supported format"


# --- exports ------------------------------------------------------------------------


def _timestamp(seconds: float, sep: str) -> str:
    # Clamped: rows stored before parse refused absurd times must still export.
    seconds = float(seconds) if isinstance(seconds, (int, float)) and math.isfinite(seconds) else 0.0
    millis = int(round(min(max(seconds, 0.0), MAX_TIME_SECONDS) * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def _cue_text(text: str) -> str:
    # A blank line or "-->" inside a cue would end it or fake a timing line.
    return re.sub(r"\s*\n\s*", " ", text).replace("-->", "->").strip()


def export_vtt(segments: list[dict[str, Any]]) -> str:
    out = ["WEBVTT", ""]
    for seg in segments:
        text = _cue_text(seg["text"]).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out += [f"{_timestamp(seg['start'], '.')} --> {_timestamp(seg['end'], '.')}", text, ""]
    return "\n".join(out)


def export_srt(segments: list[dict[str, Any]]) -> str:
    out = []
    for number, seg in enumerate(segments, start=1):
        out += [str(number), f"{_timestamp(seg['start'], ',')} --> {_timestamp(seg['end'], ',')}", _cue_text(seg["text"]), ""]
    return "\n".join(out)


def export_json(transcript) -> str:
    """The `transcribe --json` shape, plus source, for one stored Transcript."""
    return json.dumps(
        {
            "episode_id": transcript.episode_id,
            "source": transcript.source,
            "language": transcript.language,
            "duration": transcript.duration,
            "segments": [
                {"start": s["start"], "end": s["end"], "text": s["text"], **({"words": s["words"]} if s.get("words") else {})}
                for s in transcript.segments
            ],
            "text": transcript.text,
            "model": transcript.model,
            "wall_seconds": transcript.wall_seconds,
        },
        ensure_ascii=False,
        indent=2,
    )


def export_txt(segments: list[dict[str, Any]]) -> str:
    return "\n".join(f"[{_timestamp(seg['start'], '.')[:8]}] {_cue_text(seg['text'])}" for seg in segments) + "\n"


def export_podcast_json(segments: list[dict[str, Any]]) -> str:
    """The Podcasting 2.0 JSON transcript format (what podcast:transcript type="application/json" means)."""
    return json.dumps(
        {
            "version": "1.0.0",
            "segments": [{"startTime": seg["start"], "endTime": seg["end"], "body": _cue_text(seg["text"])} for seg in segments],
        },
        ensure_ascii=False,
    )
