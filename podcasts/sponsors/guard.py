"""Where a summary should not look: ad spans widened for their uncertain edges, and ad copy
the spans missed.

Pages show the spans as found; a summary errs the other way, because a sentence left
out costs less than a sponsor read presented as the episode's content. Measured
leave-one-podcast-out on the corpus (docs/sponsors.md): a detected span's edge fell
short of the labelled one by up to 38 s (median 8 s), and two short reads without a web
address were missed whole, so

- every span is widened by EDGE_MARGIN_SECONDS on both sides;
- a sponsorship lead-in ("brought to you by") followed within READ_SECONDS (as long as
  an ad read lasts) by closing copy guards the read between them and after;
- an offer code, small print or a release notice keeps a margin around it; a web
  address alone does not (it may be a sign-off or the show's own site).

Spans a curator drew or the LLM reported are taken as they are: only the detector's
edges are estimates.

The windows shrink for a short episode as the detector's do (window_scale). The
numbers are typical ad lengths, not fitted to the corpus.
"""

import re

from podcasts.sponsors.features import CUES, FULL_WINDOWS_SECONDS

EDGE_MARGIN_SECONDS = 30.0
READ_SECONDS = 60.0
# Ad copy all over an episode (a show about marketing, a listener-mail segment full of
# addresses) is talk, not ads: past this share of the episode only the spans are widened.
MAX_GUARDED_SHARE = 0.5

# Stricter than the detector's cues, which weigh each other: here one match removes a
# minute of speech. "support for" alone is news talk; a bare ". Co" is a sentence break.
LEAD_IN = re.compile(
    r"\b(?:brought to you by|sponsored by|presented by|thanks to (?:our|today's) sponsors?)\b"
    r"|\bsupport for (?:this|the) (?:show|podcast|episode) comes from\b",
    re.I,
)
# What ends a read. A bare address is often a sign-off or the show's own site, so it
# counts only after a lead-in; an offer code, small print, a release notice or an address
# to go to ("visit example.com") is never talk.
WEB_ADDRESS = r"(?:\b[a-z0-9-]+\.(?:com|net|org|io|co|fm|ai|ly|app|tv)\b|\bdot (?:com|net|org|co|io|ai|fm)\b)"
ADDRESS = (re.compile(rf"{WEB_ADDRESS}|\bwww\.", re.I), CUES["slash"])
SMALL_PRINT = (
    re.compile(rf"\b(?:visit|go to|head (?:over )?to|check out|sign up at|download)\b[^.?!]{{0,60}}?{WEB_ADDRESS}", re.I),
    CUES["code"],
    CUES["legal"],
    # Small print and release wording the detector's features lack (adding them as
    # features measured worse: docs/sponsors.md).
    re.compile(r"\b(?:fees|charges|exclusions|conditions) (?:may )?apply\b", re.I),
    re.compile(
        r"(?i:\bnow (?:playing|streaming|in theaters)\b|\b(?:streaming|in theaters) (?:now|today|everywhere)\b)"
        r"|\bonly (?:on|in) (?:[A-Z][a-z]+|theaters)\b"
    ),
)

Interval = tuple[float, float]


def _joined(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def summary_avoid_spans(
    segments: list[dict], *, exact: list[Interval], uncertain: list[Interval], duration: float
) -> list[Interval]:
    """Stretches no summary item may come from: the `exact` spans (a curator's, the LLM's), the
    `uncertain` ones (the detector's) widened, and the reads around ad copy in `segments`
    ({start, end, text}); joined, ascending, clipped to [0, duration]."""
    scale = min(1.0, max(duration, 0.0) / FULL_WINDOWS_SECONDS)
    margin, read = EDGE_MARGIN_SECONDS * scale, READ_SECONDS * scale
    cues: list[Interval] = []

    def within_exact(start: float, end: float) -> bool:
        return any(a <= (start + end) / 2 < b for a, b in exact)

    def times(patterns) -> list[Interval]:
        # Copy inside an exact span is where that span says it is: nothing to widen.
        return [
            (float(segment["start"]), float(segment["end"]))
            for segment in segments
            if any(pattern.search(str(segment.get("text", ""))) for pattern in patterns)
            and not within_exact(float(segment["start"]), float(segment["end"]))
        ]

    small_print = times(SMALL_PRINT)
    closings = sorted(small_print + times(ADDRESS))
    cues += [(start - margin, end + margin) for start, end in small_print]
    for segment in segments:
        start, end = float(segment["start"]), float(segment["end"])
        # A lead-in without closing copy after it is a credit ("a series brought to you
        # by ..."), not a read.
        if within_exact(start, end) or not LEAD_IN.search(str(segment.get("text", ""))):
            continue
        if any(start <= c <= end + read for c, _ in closings):
            cues.append((start - margin, end + read))
    widened = [*exact, *(_snapped((start - margin, end + margin), segments) for start, end in uncertain)]
    guarded = _clipped(_joined([*widened, *(_snapped(cue, segments) for cue in cues)]), duration)
    if sum(end - start for start, end in guarded) > MAX_GUARDED_SHARE * duration + sum(e - s for s, e in [*exact, *uncertain]):
        return _clipped(_joined(widened), duration)
    return guarded


def _snapped(interval: Interval, segments: list[dict]) -> Interval:
    """Out to the edges of the lines the interval's ends fall in: a margin that cut a line
    would glue its two halves to whatever is left ("a giant ... everything")."""
    start, end = interval
    for segment in segments:
        a, b = float(segment["start"]), float(segment["end"])
        if a <= start < b:
            start = a
        if a < end <= b:
            end = b
    return start, end


def _clipped(intervals: list[Interval], duration: float) -> list[Interval]:
    return [(max(0.0, start), min(duration, end)) for start, end in intervals if end > 0 and start < duration]
