"""From per-unit probabilities to ad spans: smoothing, hysteresis, merging, boundaries, labels."""

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from podcasts.sponsors.features import CUES, DOMAIN, Unit
from podcasts.sponsors.metric import MERGE_GAP_SECONDS


@dataclass(frozen=True)
class SpanParams:
    smooth_seconds: float = 12.0  # half-width of the time window averaged over to find candidate runs
    enter: float = 0.6  # a run needs one smoothed unit at least this sure
    stay: float = 0.4  # and extends over neighbours at least this sure
    edge: float = 0.5  # boundaries: the stretch of the run whose raw probabilities beat this the most
    min_seconds: float = 8.0
    merge_gap: float = MERGE_GAP_SECONDS
    tail_seconds: float = 20.0  # how far past a span's end a web address or code may still belong to it
    require_cue: bool = True  # an ad says an address, a code, a sponsor or an offer somewhere


def smooth(units: list[Unit], probs: np.ndarray, seconds: float) -> np.ndarray:
    """Duration-weighted mean of the probabilities of the units within `seconds` of each unit."""
    if not units:
        return probs
    starts = np.array([u.start for u in units])
    ends = np.array([u.end for u in units])
    weights = np.maximum(ends - starts, 0.2)
    lo = np.searchsorted(ends, starts - seconds, side="left")
    hi = np.searchsorted(starts, ends + seconds, side="right")
    wsum = np.concatenate([[0.0], np.cumsum(weights)])
    psum = np.concatenate([[0.0], np.cumsum(weights * probs)])
    return (psum[hi] - psum[lo]) / np.maximum(wsum[hi] - wsum[lo], 1e-9)


def _has_cue(unit: Unit) -> bool:
    return any(CUES[name].search(unit.text) for name in ("url", "slash", "code", "sponsor", "offer", "legal"))


def _is_closing(unit: Unit) -> bool:
    return bool(CUES["url"].search(unit.text) or CUES["code"].search(unit.text) or CUES["slash"].search(unit.text))


def assemble(units: list[Unit], probs: np.ndarray, params: SpanParams, *, scale: float = 1.0) -> list[tuple[int, int, float]]:
    """Runs of units as (first, last, confidence), ascending and non-overlapping; `scale`
    shrinks the smoothing window for a short episode as it shrinks the features' (window_scale)."""
    if not units:
        return []
    smoothed = smooth(units, probs, params.smooth_seconds * scale)
    runs: list[list[int]] = []
    i, n = 0, len(units)
    while i < n:
        if smoothed[i] < params.enter:
            i += 1
            continue
        first = i
        while first > 0 and smoothed[first - 1] >= params.stay:
            first -= 1
        last = i
        while last + 1 < n and smoothed[last + 1] >= params.stay:
            last += 1
        if runs and first <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], last)
        else:
            runs.append([first, last])
        i = last + 1
    # Boundaries: smoothing smears a run outwards, so keep the stretch whose raw
    # probabilities beat `edge` by the most seconds (a maximum subarray).
    durations = np.array([max(u.end - u.start, 0.2) for u in units])
    trimmed = []
    for first, last in runs:
        gain = (probs[first : last + 1] - params.edge) * durations[first : last + 1]
        best, best_range, total, begin = -np.inf, (first, last), 0.0, first
        for k, value in enumerate(gain, start=first):
            if total <= 0:
                total, begin = 0.0, k
            total += value
            if total > best:
                best, best_range = total, (begin, k)
        first, last = best_range
        # The labelling rule: an ad ends at its last web address or code.
        j = last + 1
        while j < n and units[j].start - units[last].end <= params.tail_seconds:
            if _is_closing(units[j]) and probs[j] >= params.stay / 2:
                last = j
            j += 1
        trimmed.append([first, last])
    merged: list[list[int]] = []
    for first, last in trimmed:
        if merged and units[first].start - units[merged[-1][1]].end < params.merge_gap:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    out = []
    for first, last in merged:
        if units[last].end - units[first].start < params.min_seconds:
            continue
        if params.require_cue and not any(_has_cue(u) for u in units[first : last + 1]):
            continue
        confidence = float(np.max(smoothed[first : last + 1]))
        out.append((first, last, confidence))
    return out


STOP_NAMES = {"this", "that", "the", "and", "with", "your", "you", "visit", "head", "today", "episode", "podcast", "show"}


def _spelled(name: str, text: str) -> str | None:
    """How the span writes `name` (a domain's name): one word or up to three words run together."""
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'&-]*", text)
    found = Counter()
    for size in (1, 2, 3):
        for i in range(len(words) - size + 1):
            group = words[i : i + size]
            if "".join(group).lower() == name and group[0][0].isupper():
                found[" ".join(group)] += 1
    if not found:
        return None
    # Prefer the usual spelling over shouting ("Acast" over "ACAST").
    return max(found, key=lambda spelling: (not spelling.isupper(), found[spelling], len(spelling)))


def span_label(units: list[Unit]) -> str:
    """The sponsor's name when the span says a web address, else 'Sponsor'."""
    text = " ".join(u.text for u in units)
    domains = Counter(m.group(1).lower() for m in DOMAIN.finditer(text))
    spoken = Counter(m.group(1).lower() for m in re.finditer(r"\b([A-Za-z]{3,}) dot com\b", text))
    for name, _ in (domains + spoken).most_common():
        if name not in STOP_NAMES:
            return (_spelled(name, text) or name.capitalize())[:80]
    return "Sponsor"
