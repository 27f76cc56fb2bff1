"""What every provider summarizes: the transcript with its ad spans and whisper's filler removed.

`transcript_prepare` is the one shared step (the extractive ranker, Claude's
prompt and any later provider all read its output), so no provider can see a
sponsor read or a hallucinated "Thank you for watching." that another one
would have skipped. `TimedText` maps a character of the joined transcript to
the time its word is spoken (word timestamps when the transcript has them,
else the segment's start), so quotes and chapters start at the quoted word.
`ad_spans_verify` checks ad spans a model reported against the transcript,
like quotes are checked: a span that does not match is dropped and reported.
"""

import bisect
import html
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import nh3
from rapidfuzz import fuzz

from summaries.llm.language import fold, language_get
from summaries.timecodes import clock_seconds

# A line this short that comes back this often is whisper's filler, not speech.
FILLER_MAX_WORDS = 8
FILLER_MIN_REPEATS = 3
# A segment without word timings is dropped when it overlaps an ad by more than this.
AD_OVERLAP_TOLERANCE = 1.0
SHOW_NOTES_MAX_CHARS = 2000
# A model's ad span: at most this long, and its label must be said in it (or near it).
AD_MAX_SECONDS = 15 * 60
AD_LABEL_WINDOW = 20.0
AD_LABEL_MATCH = 80.0


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    label: str = ""
    uncertain: bool = False  # estimated edges (the detector's): summaries keep a margin around it

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 2), "end": round(self.end, 2), "label": self.label}


@dataclass
class EpisodeContext:
    """What the feed says about the episode: it reaches every provider with the transcript."""

    title: str = ""
    podcast: str = ""
    description: str = ""  # show notes (sanitized HTML or plain text)
    hosts: str = ""
    language: str = "en"

    @property
    def show_notes(self) -> str:
        return plain_text(self.description, cap=SHOW_NOTES_MAX_CHARS)

    def __bool__(self) -> bool:
        return bool(self.title or self.podcast or self.description or self.hosts)


def plain_text(markup: str, *, cap: int = SHOW_NOTES_MAX_CHARS) -> str:
    """Feed HTML as plain text (tags dropped, entities decoded, whitespace collapsed), capped at a word."""
    if not markup:
        return ""
    with_breaks = re.sub(r"(?i)<\s*(br|/p|/li|/h\d|/div)\b[^>]*>", "\n", markup)
    text = html.unescape(nh3.clean(with_breaks, tags=set()))
    text = "\n".join(" ".join(line.split()) for line in text.splitlines())
    text = re.sub(r"\n{2,}", "\n", text).strip()
    if len(text) > cap:
        text = text[:cap].rsplit(" ", 1)[0] + " …"
    return text


def _float(value: Any) -> float:
    result = float(clock_seconds(value))
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError("not a finite time")
    return result


def ad_spans_normalize(spans: Any) -> list[Span]:
    """Ad spans given as dicts, (start, end[, label[, uncertain]]) tuples or objects with
    start/end/label[/uncertain], sorted, overlapping ones merged; ValueError on a bad shape."""
    result: list[Span] = []
    for index, span in enumerate(spans or []):
        try:
            if isinstance(span, dict):
                start, end, label = span["start"], span["end"], span.get("label", "")
                uncertain = span.get("uncertain", False)
            elif isinstance(span, (list, tuple)):
                start, end, label = span[0], span[1], span[2] if len(span) > 2 else ""
                uncertain = span[3] if len(span) > 3 else False
            else:
                start, end, label = span.start, span.end, getattr(span, "label", "")
                uncertain = getattr(span, "uncertain", False)
            start, end = _float(start), _float(end)
        except (KeyError, IndexError, AttributeError, TypeError, ValueError):
            raise ValueError(f"ad span {index} needs a numeric start and end") from None
        if end > start >= 0:
            result.append(Span(start, end, str(label or "")[:200], uncertain is True))
    result.sort(key=lambda s: (s.start, s.end))
    merged: list[Span] = []
    for span in result:
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end), last.label or span.label, last.uncertain or span.uncertain)
        else:
            merged.append(span)
    return merged


def _inside(t: float, spans: list[Span]) -> Span | None:
    index = bisect.bisect_right([s.start for s in spans], t) - 1
    if index >= 0 and spans[index].contains(t):
        return spans[index]
    return None


def _overlap(start: float, end: float, spans: list[Span]) -> float:
    return sum(max(0.0, min(end, s.end) - max(start, s.start)) for s in spans)


def _is_filler(folded: str, repeats: Counter, hallucinations: frozenset[str]) -> bool:
    if not folded or folded in hallucinations:
        return True
    return len(folded.split()) <= FILLER_MAX_WORDS and repeats[folded] >= FILLER_MIN_REPEATS


def transcript_prepare(segments: list[dict], *, ads: list[Span] | None = None, language: str = "en") -> list[dict]:
    """The segments a summary may come from: words inside an ad span removed (whole
    segments when there are no word timings), hallucinated and repeated filler lines
    removed, a line repeated back to back kept once. Input: `segments_clean` output."""
    ads = ads or []
    hallucinations = language_get(language).hallucinations
    kept: list[dict] = []
    for segment in segments:
        words = segment.get("words") or []
        if ads and words:
            words = [w for w in words if not _inside((w["start"] + w["end"]) / 2, ads)]
            if not words:
                continue
            if len(words) != len(segment["words"]):
                text = " ".join("".join(w["word"] for w in words).split())
                segment = {**segment, "start": words[0]["start"], "end": words[-1]["end"], "text": text, "words": words}
        elif ads and _overlap(segment["start"], segment["end"], ads) > AD_OVERLAP_TOLERANCE:
            continue
        elif ads and _inside(segment["start"], ads):
            continue
        if segment["text"]:
            kept.append(segment)
    # Filler is judged on sentences as well as lines: whisper glues "Thank you for watching." onto speech.
    pieces = Counter(fold(p) for s in kept for p in _sentences(s["text"]))
    result: list[dict] = []
    previous = None
    for segment in kept:
        spans = _sentence_spans(segment["text"])
        clean = [(a, b) for a, b in spans if not _is_filler(fold(segment["text"][a:b]), pieces, hallucinations)]
        if not clean:
            continue
        folded = fold(segment["text"])
        if folded == previous:
            continue  # a repetition loop
        previous = folded
        if len(clean) != len(spans):
            segment = _keep_sentences(segment, clean)
        result.append(segment)
    return result


_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def _sentences(text: str) -> list[str]:
    return [p.strip() for p in _SENTENCE.split(text) if p.strip()]


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, trailing space excluded."""
    spans, position = [], 0
    for match in _SENTENCE.finditer(text):
        spans.append((position, match.start()))
        position = match.end()
    if position < len(text):
        spans.append((position, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _keep_sentences(segment: dict, spans: list[tuple[int, int]]) -> dict:
    """The segment with only the sentences at `spans`, and only their words."""
    text = segment["text"]
    kept = {**segment, "text": " ".join(text[a:b].strip() for a, b in spans)}
    words = segment.get("words") or []
    offsets = word_offsets(text, words)
    if words and len(offsets) == len(words):
        kept["words"] = [w for at, w in zip(offsets, words, strict=True) if any(a <= at < b for a, b in spans)]
        if kept["words"]:
            kept["start"] = kept["words"][0]["start"]
    else:
        kept.pop("words", None)  # the word list does not line up with the text
    return kept


def word_offsets(text: str, words: list[dict]) -> list[int]:
    """Where each of `words` starts in `text` (whisper's words, joined, make the segment's
    text); shorter than `words` from the first word that cannot be found in order."""
    offsets: list[int] = []
    lowered = text.lower()
    cursor = 0
    for word in words:
        token = word["word"].strip().lower()
        if not token:
            offsets.append(cursor)
            continue
        if not word["word"][:1].isspace() and cursor and lowered.startswith(token, cursor):
            at = cursor  # a piece glued to the previous word (" 9" then ",000")
        else:
            at = lowered.find(token, cursor)
            while at > 0 and not lowered[at - 1].isspace():  # a whole word, not "i" inside "guidance"
                at = lowered.find(token, at + 1)
        if at < 0 or at - cursor > 40:  # the word list drifted from the text: stop trusting it here
            break
        offsets.append(at)
        cursor = at + len(token)
    return offsets


class TimedText:
    """The joined transcript (segments separated by one space) with the time of each character."""

    def __init__(self, segments: list[dict]):
        self.segments = segments
        self.offsets: list[int] = []
        parts: list[str] = []
        self._word_chars: list[int] = []
        self._word_times: list[float] = []
        offset = 0
        for segment in segments:
            self.offsets.append(offset)
            text = segment["text"]
            words = segment.get("words") or []
            for at, word in zip(word_offsets(text, words), words, strict=False):  # offsets stop where the words drift
                self._word_chars.append(offset + at)
                self._word_times.append(float(word["start"]))
            parts.append(text)
            offset += len(text) + 1
        self.text = " ".join(parts)

    def segment_at(self, char: int) -> dict:
        return self.segments[max(bisect.bisect_right(self.offsets, char) - 1, 0)]

    def time_at(self, char: int) -> float:
        """When the word at `char` starts: its word timestamp, else its segment's start."""
        seg_index = max(bisect.bisect_right(self.offsets, char) - 1, 0)
        seg_start_char = self.offsets[seg_index]
        seg_end_char = self.offsets[seg_index + 1] if seg_index + 1 < len(self.offsets) else len(self.text) + 1
        i = bisect.bisect_right(self._word_chars, char) - 1
        # The word containing `char`, or the next one when `char` is at a space, within this segment.
        if i >= 0 and self._word_chars[i] >= seg_start_char and not self.text[char : char + 1].isspace():
            if i + 1 < len(self._word_chars) and self._word_chars[i + 1] <= char:
                i += 1
            return self._word_times[i]
        j = i + 1
        if j < len(self._word_chars) and seg_start_char <= self._word_chars[j] < seg_end_char:
            return self._word_times[j]
        return float(self.segments[seg_index]["start"])


def chapters_check(
    chapters: list[dict], *, segments: list[dict], ads: list[Span], duration: float
) -> tuple[list[dict], list[str]]:
    """Chapter starts checked against the transcript: past the end → dropped; inside an ad →
    moved to its end; otherwise snapped to the start of the line they fall in (or the next
    line). Returns (chapters in strictly ascending order, warnings)."""
    warnings: list[str] = []
    starts = [float(s["start"]) for s in segments]
    result: list[dict] = []
    for chapter in chapters:
        start = float(chapter["start"])
        if start > duration + 1.0:
            warnings.append(f"chapter past the end dropped: {chapter['title'][:80]!r} at {start:.0f}s")
            continue
        # A start just before an ad (0:00 before a pre-roll at 0:00.04) starts inside it.
        span = _inside(start, ads) or _inside(start + AD_OVERLAP_TOLERANCE, ads)
        if span is not None:
            start = span.end
        elif starts and start <= starts[0]:
            # Before the first line (the usual 0:00:00): the episode's start, unless an ad is there.
            if not result:
                result.append({**chapter, "start": start})
            continue
        index = bisect.bisect_right(starts, start) - 1
        if index < 0 or float(segments[index]["end"]) < start:
            index += 1  # in a gap (or before the first line): the next line
        if index >= len(segments):
            warnings.append(f"chapter after the last line dropped: {chapter['title'][:80]!r}")
            continue
        snapped = starts[index] if index >= 0 else 0.0
        if result and snapped <= result[-1]["start"]:
            continue
        result.append({**chapter, "start": snapped})
    if not result and chapters:
        result = [{**chapters[0], "start": starts[0] if starts else 0.0}]
    return result, warnings


def ad_spans_verify(raw: Any, *, segments: list[dict], duration: float) -> tuple[list[Span], list[dict]]:
    """A model's ad spans checked against the (full) transcript: times parse, lie inside the
    episode, cover speech, are at most AD_MAX_SECONDS long, and a label (the sponsor) is said
    in or near the span. Returns (verified spans, dropped spans each with a reason)."""
    verified: list[Span] = []
    dropped: list[dict] = []
    if not isinstance(raw, list):
        return [], ([{"span": raw, "reason": "not a list"}] if raw else [])
    for item in raw:
        try:
            span = ad_spans_normalize([item])
        except ValueError:
            dropped.append({"span": item, "reason": "start or end is not a time"})
            continue
        if not span:
            dropped.append({"span": item, "reason": "end is not after start"})
            continue
        span = span[0]
        reason = ""
        if span.end > duration + 5.0:
            reason = "ends after the episode"
        elif span.end - span.start > AD_MAX_SECONDS:
            reason = "longer than an ad break can be"
        else:
            near = [s for s in segments if s["end"] > span.start - AD_LABEL_WINDOW and s["start"] < span.end + AD_LABEL_WINDOW]
            inside = [s for s in near if s["end"] > span.start and s["start"] < span.end]
            if not inside:
                reason = "no speech in the span"
            elif span.label and not _label_said(span.label, " ".join(s["text"] for s in near)):
                reason = "its label is not said in the span"
        if reason:
            dropped.append({"span": item, "reason": reason})
        else:
            verified.append(span)
    return ad_spans_normalize(verified), dropped


# Labels that name no sponsor: nothing to look for in the transcript.
GENERIC_AD_LABELS = {
    "ad",
    "ads",
    "advert",
    "advertisement",
    "sponsor",
    "sponsor read",
    "sponsored",
    "promo",
    "promotion",
    "cross promotion",
    "cross promo",
    "house ad",
    "pre roll",
    "mid roll",
    "post roll",
    "ad break",
}


def _label_said(label: str, text: str) -> bool:
    needle = fold(label.replace("-", " "))
    if needle in GENERIC_AD_LABELS:
        return True
    haystack = fold(text)
    if not needle or needle in haystack or needle.replace(" ", "") in haystack.replace(" ", ""):
        return True
    return fuzz.partial_ratio(needle, haystack) >= AD_LABEL_MATCH
