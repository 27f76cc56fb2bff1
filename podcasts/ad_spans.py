"""Services and reads of a transcript's ad spans (podcasts.AdSpan).

Three origins write spans: the offline detector (after every stored
transcript, and on demand), the LLM's summary reply, and curators. The rules:
- re-detection replaces the detector's active spans and nothing else;
- a span a curator marked "not an ad" keeps its row (status
  rejected_by_curator) and no later detector or LLM span that overlaps it is
  stored, so the correction survives re-runs;
- a curator-added span stays, and automated spans overlapping it are not stored;
- every curator correction writes one CuratorAction in the same transaction.
"""

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from curation.services import curator_action_record, enqueue_for_review
from podcasts.models import AdSpan, Episode, Transcript
from podcasts.sponsors import DETECTOR_VERSION, DetectedAdSpan, detect_ad_spans

logger = logging.getLogger(__name__)

# Two spans are the same ad when their overlap covers half of the shorter one.
SAME_AD_OVERLAP = 0.5
# An LLM may round an ad's end past the last segment by this much.
BOUNDS_TOLERANCE_SECONDS = 2.0
LABEL_MAX = AdSpan._meta.get_field("label").max_length


class AdSpanInvalid(ValueError):
    """A span that does not fit its transcript (bad numbers, outside the audio, empty)."""


def _same_ad(a_start: float, a_end: float, b_start: float, b_end: float) -> bool:
    inter = min(a_end, b_end) - max(a_start, b_start)
    shorter = min(a_end - a_start, b_end - b_start)
    return shorter > 0 and inter / shorter >= SAME_AD_OVERLAP


def transcript_end(transcript: Transcript) -> float:
    """Where the transcript's audio ends: its duration, else its last segment's end."""
    ends = [float(s.get("end") or 0.0) for s in transcript.segments or []]
    return max([transcript.duration or 0.0, *ends])


def ad_span_check_bounds(transcript: Transcript, start: Any, end: Any) -> tuple[float, float]:
    try:
        start, end = float(start), float(end)
    except (TypeError, ValueError) as exc:
        raise AdSpanInvalid("start and end must be numbers of seconds") from exc
    if not (math.isfinite(start) and math.isfinite(end)):
        raise AdSpanInvalid("start and end must be finite")
    if start < 0 or end <= start:
        raise AdSpanInvalid(f"span {start:.2f}–{end:.2f} s must have 0 ≤ start < end")
    limit = transcript_end(transcript)
    if start >= limit or end > limit + BOUNDS_TOLERANCE_SECONDS:
        raise AdSpanInvalid(f"span {start:.2f}–{end:.2f} s lies outside the transcript (0–{limit:.2f} s)")
    return start, min(end, limit)


def _blocked(transcript_id: int) -> list[AdSpan]:
    """Rows a new automated span must not overlap: curator rejections and curator-added spans."""
    return list(
        AdSpan.objects.filter(transcript_id=transcript_id).filter(
            Q(status=AdSpan.Status.REJECTED_BY_CURATOR) | Q(origin=AdSpan.Origin.CURATOR)
        )
    )


def _replace_automated(
    *, transcript: Transcript, origin: str, spans: list[tuple[float, float, str, float]], version: str
) -> list[AdSpan]:
    """Swap the active spans of one automated origin for `spans`, honouring curator corrections."""
    with transaction.atomic():
        # Serialises concurrent re-runs on one transcript (a no-op lock on SQLite, whose writer is alone anyway).
        Transcript.objects.select_for_update().filter(pk=transcript.pk).first()
        AdSpan.objects.filter(transcript=transcript, origin=origin, status=AdSpan.Status.ACTIVE).delete()
        blocked = _blocked(transcript.pk)
        rows = [
            AdSpan(
                transcript=transcript,
                start=start,
                end=end,
                label=label[:LABEL_MAX],
                confidence=min(max(confidence, 0.0), 1.0),
                origin=origin,
                detector_version=version[:100],
            )
            for start, end, label, confidence in spans
            if not any(_same_ad(start, end, b.start, b.end) for b in blocked)
        ]
        return AdSpan.objects.bulk_create(rows)


def ad_spans_store_detected(
    *, transcript: Transcript, spans: list[DetectedAdSpan], version: str = DETECTOR_VERSION
) -> list[AdSpan]:
    """Store the detector's spans for a transcript (replacing its earlier ones); returns the stored rows."""
    return _replace_automated(
        transcript=transcript,
        origin=AdSpan.Origin.DETECTOR,
        spans=[(s.start, s.end, s.label, s.confidence) for s in spans],
        version=version,
    )


def transcript_detect_ad_spans(*, transcript_id: int) -> list[AdSpan]:
    """Run the offline detector on a stored transcript and store its spans.

    Detection runs outside any transaction; storing is one short one.
    """
    transcript = Transcript.objects.select_related("episode").get(pk=transcript_id)
    detected = detect_ad_spans(transcript.segments, title=transcript.episode.title, description=transcript.episode.description)
    stored = ad_spans_store_detected(transcript=transcript, spans=detected)
    logger.info(
        "ad_spans_detected",
        extra={"event": "ad_spans_detected", "transcript_id": transcript_id, "spans": len(stored), "version": DETECTOR_VERSION},
    )
    return stored


def detect_for_episode(*, episode_id: int, segments: list[dict]) -> list[DetectedAdSpan] | None:
    """The detector's spans for segments about to be stored for an episode; None (logged) when it fails.

    Used by the pipeline before its transaction, so the detector never runs
    inside one and a broken detector never loses a transcript.
    """
    notes = Episode.objects.filter(pk=episode_id).values("title", "description").first() or {}
    try:
        return detect_ad_spans(segments, title=notes.get("title", ""), description=notes.get("description", ""))
    except Exception:  # a detector fault must not lose the transcript; the spans can be made later
        logger.exception("ad_detect_error", extra={"event": "ad_detect_error", "episode_id": episode_id})
        return None


@dataclass
class LlmSpansResult:
    stored: list[AdSpan] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)


def ad_span_store_llm(*, transcript_id: int, spans: list[dict], model: str, flag: bool = True) -> LlmSpansResult:
    """Store the ad spans an LLM returned with its summary (origin llm), replacing its earlier ones.

    Each item is `{"start", "end", "label"?}` in seconds. An item that does not
    fit the transcript is dropped, listed in the result with its reason, and
    (with `flag`) the drops are raised to the curation inbox as malformed LLM output.
    """
    transcript = Transcript.objects.select_related("episode").get(pk=transcript_id)
    result = LlmSpansResult()
    kept: list[tuple[float, float, str, float]] = []
    for item in spans:
        if not isinstance(item, dict):
            result.dropped.append({"span": repr(item)[:200], "reason": "not an object"})
            continue
        try:
            start, end = ad_span_check_bounds(transcript, item.get("start"), item.get("end"))
        except AdSpanInvalid as exc:
            result.dropped.append({"span": {k: item.get(k) for k in ("start", "end", "label")}, "reason": str(exc)})
            continue
        kept.append((start, end, str(item.get("label") or "")[:LABEL_MAX], 1.0))
    with transaction.atomic():
        result.stored = _replace_automated(transcript=transcript, origin=AdSpan.Origin.LLM, spans=kept, version=model)
        if result.dropped and flag:
            episode = transcript.episode
            enqueue_for_review(
                target=episode,
                flag_class="malformed_llm_output",
                severity="P2",
                proposed_by=f"llm:{model}"[:100],
                evidence={
                    "episode_id": episode.pk,
                    "title": episode.title,
                    "problem": "ad spans outside the transcript",
                    "dropped_ad_spans": result.dropped[:20],
                },
            )
    return result


def ad_span_reject(*, ad_span: AdSpan, actor, reason: str = "") -> bool:
    """A curator says the span is not an ad; False when it already was rejected. Sticky across re-runs."""
    with transaction.atomic():
        updated = AdSpan.objects.filter(pk=ad_span.pk, status=AdSpan.Status.ACTIVE).update(
            status=AdSpan.Status.REJECTED_BY_CURATOR
        )
        if not updated:
            return False
        ad_span.refresh_from_db()
        curator_action_record(
            actor=actor,
            target=ad_span,
            action="ad_span_reject",
            from_state=AdSpan.Status.ACTIVE,
            to_state=AdSpan.Status.REJECTED_BY_CURATOR,
            reason=reason,
        )
    return True


def ad_span_restore(*, ad_span: AdSpan, actor, reason: str = "") -> bool:
    """Undo a curator's "not an ad"; False when the span was active."""
    with transaction.atomic():
        updated = AdSpan.objects.filter(pk=ad_span.pk, status=AdSpan.Status.REJECTED_BY_CURATOR).update(
            status=AdSpan.Status.ACTIVE
        )
        if not updated:
            return False
        ad_span.refresh_from_db()
        curator_action_record(
            actor=actor,
            target=ad_span,
            action="ad_span_restore",
            from_state=AdSpan.Status.REJECTED_BY_CURATOR,
            to_state=AdSpan.Status.ACTIVE,
            reason=reason,
        )
    return True


def ad_span_add(*, transcript_id: int, start: float, end: float, label: str = "", actor, reason: str = "") -> AdSpan:
    """A curator marks a span the detector missed; AdSpanInvalid when it does not fit the transcript."""
    transcript = Transcript.objects.get(pk=transcript_id)
    start, end = ad_span_check_bounds(transcript, start, end)
    with transaction.atomic():
        span = AdSpan.objects.create(
            transcript=transcript,
            start=start,
            end=end,
            label=label[:LABEL_MAX],
            confidence=1.0,
            origin=AdSpan.Origin.CURATOR,
        )
        curator_action_record(actor=actor, target=span, action="ad_span_add", to_state=AdSpan.Status.ACTIVE, reason=reason)
    return span


@dataclass(frozen=True)
class AdRange:
    start: float
    end: float
    label: str
    # The detector's edges are estimates; a curator's or the LLM's are where they say.
    uncertain: bool = False


def _joined(spans) -> list[AdRange]:
    """(start, end, label, origin) rows by start → ranges with overlaps joined."""
    ranges: list[AdRange] = []
    for start, end, label, origin in spans:
        uncertain = origin == AdSpan.Origin.DETECTOR
        if ranges and start < ranges[-1].end:
            last = ranges[-1]
            ranges[-1] = AdRange(last.start, max(last.end, end), last.label or label, last.uncertain or uncertain)
        else:
            ranges.append(AdRange(start, end, label, uncertain))
    return ranges


def transcript_ad_ranges(*, transcript_id: int) -> list[AdRange]:
    """The transcript's ads as readers and summarizers see them: active spans of every origin, overlaps joined."""
    spans = AdSpan.objects.filter(transcript_id=transcript_id, status=AdSpan.Status.ACTIVE).order_by("start", "id")
    return _joined(spans.values_list("start", "end", "label", "origin"))


def episodes_ad_ranges(*, episode_ids: list[int]) -> dict[int, list[AdRange]]:
    """transcript_ad_ranges for many episodes in one query (feeds, lists), by episode id."""
    rows = (
        AdSpan.objects.filter(transcript__episode_id__in=episode_ids, status=AdSpan.Status.ACTIVE)
        .order_by("transcript__episode_id", "start", "id")
        .values_list("transcript__episode_id", "start", "end", "label", "origin")
    )
    by_episode: dict[int, list[tuple[float, float, str, str]]] = {}
    for episode_id, *span in rows:
        by_episode.setdefault(episode_id, []).append(tuple(span))
    return {episode_id: _joined(spans) for episode_id, spans in by_episode.items()}
