"""Offline sponsor detection: which spans of a transcript are ads.

Public contract (other apps rely on these names): DETECTOR_VERSION,
DetectedAdSpan, detect_ad_spans. A pure function of the transcript and its
show notes; storage lives in podcasts/ad_spans.py. See docs/sponsors.md.
"""

from dataclasses import dataclass

from podcasts.sponsors.model import EpisodeInput, Model, episode_input, load_model, unit_probabilities
from podcasts.sponsors.spans import SpanParams, assemble, span_label

DETECTOR_VERSION = "lr-1"
PARAMS = SpanParams()


@dataclass(frozen=True)
class DetectedAdSpan:
    start: float
    end: float
    label: str
    confidence: float
    uncertain: bool = True  # edges estimated (summaries keep a margin around them)


def detect_ad_spans(
    segments: list[dict], *, title: str = "", description: str = "", model: Model | None = None
) -> list[DetectedAdSpan]:
    """Ad spans of a transcript (segments as stored: {start, end, text, words?}), ascending, non-overlapping.

    `description` is the show notes, HTML or text. `model` defaults to the
    committed artifact (loaded once per process).
    """
    return spans_from_input(episode_input(segments, title=title, description=description), model or load_model())


# A span covering more than this share of the episode is the detector misreading it, not an
# ad: a show that is mostly one long ad is rarer than a talk full of addresses and offers.
MAX_EPISODE_SHARE = 0.5


def spans_from_input(data: EpisodeInput, model: Model, params: SpanParams = PARAMS) -> list[DetectedAdSpan]:
    if not data.units:
        return []
    probs = unit_probabilities(model, data)
    length = data.units[-1].end - data.units[0].start
    spans = []
    for first, last, confidence in assemble(data.units, probs, params, scale=data.scale):
        units = data.units[first : last + 1]
        if units[-1].end - units[0].start > MAX_EPISODE_SHARE * length:
            continue
        spans.append(
            DetectedAdSpan(
                start=round(units[0].start, 2),
                end=round(units[-1].end, 2),
                label=span_label(units),
                confidence=round(confidence, 3),
            )
        )
    return spans
