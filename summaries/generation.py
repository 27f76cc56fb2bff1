"""Generating and storing summaries: the one path every caller shares.

The summarize pipeline stage (summaries.services), regenerations
(summaries.deliveries) and Message Batch results (summaries.batches) all go
through here: the source hash that decides reuse, the daily token budget, the
LLM call outside any transaction with its failures flagged for curators, and the
storing of a candidate that is published when nothing blocks it.
"""

import logging
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from curation.models import OPEN_STATUSES, CurationItem
from curation.services import IllegalTransition, editorial_transition, enqueue_for_review
from podcasts.models import Episode, Transcript
from summaries.context import ad_spans_key, episode_context, transcript_ad_spans
from summaries.llm import (
    BudgetExceeded,
    MalformedReply,
    ProviderError,
    ProviderUnavailable,
    SummaryResult,
    TranscriptTooShort,
    Usage,
    provider_default,
    provider_model,
    source_hash,
    transcript_summarize,
)
from summaries.models import EditorialStatus, LLMUsage, Summary

logger = logging.getLogger("castnotes.summaries")

Status = Episode.PipelineStatus
CURATED_STATES = (EditorialStatus.FEATURED, EditorialStatus.HIDDEN)
BUDGET_WAIT_REASON = "llm_budget_exhausted"


class SummaryGenerationError(Exception):
    """No valid summary came back (already flagged for a curator where it needs one)."""

    transient = False


class SummaryMalformed(SummaryGenerationError):
    """The model's reply was unusable; a P1 malformed_llm_output item holds it."""


class SummaryNotApplicable(SummaryGenerationError):
    """The transcript is too short to summarize: nothing is wrong, there is just nothing to say."""


class SummaryLLMUnavailable(SummaryGenerationError):
    """The LLM stayed unavailable (429/529/5xx/timeouts) through the bounded retries."""

    transient = True


class SummaryBudgetExhausted(SummaryGenerationError):
    """LLM_DAILY_TOKEN_BUDGET is spent; work waits until `retry_at` (next UTC midnight)."""

    transient = True

    def __init__(self, message: str, *, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


# --- The daily token budget ------------------------------------------------------------


def next_utc_midnight(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    tomorrow = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time.min, tzinfo=UTC)


def llm_usage_row(*, day=None) -> LLMUsage:
    """Today's (UTC) usage row, created on first use; safe when two workers race."""
    day = day or timezone.now().astimezone(UTC).date()
    try:
        with transaction.atomic():
            return LLMUsage.objects.get_or_create(day=day)[0]
    except IntegrityError:
        return LLMUsage.objects.get(day=day)


class DailyBudget:
    """LLM_DAILY_TOKEN_BUDGET, fail-closed: a request runs only if its worst case fits.

    `reserve` adds the request's estimated tokens (prompt estimate + max output)
    with a conditional UPDATE, so concurrent workers cannot overshoot together;
    `settle` swaps the estimate for the real usage. Every request is counted,
    including ones that failed before any usage came back.
    """

    def reserve(self, tokens: int):
        row = llm_usage_row()
        budget = settings.LLM_DAILY_TOKEN_BUDGET
        reserved = LLMUsage.objects.filter(
            pk=row.pk, reserved_tokens__lte=budget - tokens - F("input_tokens") - F("output_tokens")
        ).update(reserved_tokens=F("reserved_tokens") + tokens)
        if reserved != 1:
            raise BudgetExceeded(f"LLM_DAILY_TOKEN_BUDGET ({budget}) would be exceeded by a {tokens}-token request")
        return (row.pk, tokens)

    def settle(self, reservation, usage: Usage) -> None:
        pk, tokens = reservation
        LLMUsage.objects.filter(pk=pk).update(
            reserved_tokens=F("reserved_tokens") - tokens,
            input_tokens=F("input_tokens") + usage.input_tokens,
            output_tokens=F("output_tokens") + usage.output_tokens,
            requests=F("requests") + max(usage.requests, 1),
            cost_usd=F("cost_usd") + usage.cost_usd,
        )


# --- Flags ---------------------------------------------------------------------------


def _flag_malformed(*, episode: Episode, exc: MalformedReply, prompt_version: str, provider: str) -> CurationItem:
    return enqueue_for_review(
        target=episode,
        flag_class=CurationItem.FlagClass.MALFORMED_LLM_OUTPUT,
        severity=CurationItem.Severity.P1,
        # The episode is failed with its transcript kept: a curator's "retry the job" summarizes again.
        proposed_action=CurationItem.ProposedAction.RETRY_JOB,
        proposed_by=f"summaries:{provider}",
        evidence={
            "episode_id": episode.pk,
            "podcast_id": episode.podcast_id,
            "title": episode.title,
            "reason": exc.reason,
            "detail": exc.detail[:2000],
            "raw_reply": exc.raw,
            "provider": provider,
            "model": provider_model(provider),
            "prompt_version": prompt_version,
            "input_tokens": exc.usage.input_tokens,
            "output_tokens": exc.usage.output_tokens,
            "requests": exc.usage.requests,
        },
    )


def _flag_budget(*, episode: Episode, retry_at: datetime) -> CurationItem:
    """One P1 item per UTC day (it targets the day's usage row); repeats bump it."""
    row = llm_usage_row()
    row.refresh_from_db()
    waiting = Episode.objects.filter(pipeline_status=Status.TRANSCRIBED, last_error=BUDGET_WAIT_REASON).count()
    return enqueue_for_review(
        target=row,
        flag_class=CurationItem.FlagClass.LLM_BUDGET_EXHAUSTED,
        severity=CurationItem.Severity.P1,
        proposed_by="summaries:budget",
        evidence={
            "day": row.day.isoformat(),
            "budget_tokens": settings.LLM_DAILY_TOKEN_BUDGET,
            "used_tokens": row.used_tokens,
            "reserved_tokens": row.reserved_tokens,
            "requests": row.requests,
            "cost_usd": str(row.cost_usd),
            "resumes_at": retry_at.isoformat(),
            "last_episode_id": episode.pk,
            "episodes_waiting": waiting + 1,
        },
    )


def _flag_unverified(*, summary: Summary, flag_class: str, dropped_key: str, dropped: list[dict[str, Any]]) -> CurationItem:
    """What the model returned that does not match the transcript (quotes, ad spans): dropped,
    and shown to a curator."""
    return enqueue_for_review(
        target=summary,
        flag_class=flag_class,
        severity=CurationItem.Severity.P2,
        proposed_by=f"summaries:{summary.provider}",
        evidence={
            "episode_id": summary.episode_id,
            "summary_id": summary.pk,
            "prompt_version": summary.prompt_version,
            "model": summary.model,
            dropped_key: dropped,
        },
    )


# --- Generating and storing --------------------------------------------------------------


def transcript_for(episode: Episode) -> Transcript:
    """The episode's transcript, or SummaryGenerationError when it has none."""
    try:
        return Transcript.objects.get(episode=episode)
    except Transcript.DoesNotExist:
        raise SummaryGenerationError(f"episode {episode.pk} has no transcript") from None


AdSpans = list[tuple[float, float, str]]


def summary_source_hash(*, transcript: Transcript, prompt_version: str, provider: str, ads: AdSpans) -> str:
    """Hash of transcript text + the ad spans it is summarized without + prompt version + model:
    the same hash means the same summary. `ads` is transcript_ad_spans(transcript), read once by
    the caller so the hash and the summary see the same spans; a curator's correction of a span
    changes the hash, so the next summarize or regeneration makes a new summary."""
    text = transcript.text or " ".join(str(s.get("text", "")) for s in transcript.segments or [])
    return source_hash(text=text, prompt_version=prompt_version, model=provider_model(provider), ads=ad_spans_key(ads))


def summary_reusable(*, episode: Episode, hash_: str) -> Summary | None:
    """A summary from the same transcript, prompt and model (a retired one is not reused)."""
    return (
        Summary.objects.filter(episode=episode, source_hash=hash_)
        .exclude(editorial_status=EditorialStatus.RETIRED)
        .order_by("-created_at", "-id")
        .first()
    )


def summary_produce(
    *, episode: Episode, transcript: Transcript, prompt_version: str, provider: str, ads: AdSpans
) -> SummaryResult:
    """The LLM work, outside any transaction, without the `ads` spans; failures are flagged and become domain errors."""
    segments = transcript.segments or [{"start": 0.0, "end": transcript.duration or 0.0, "text": transcript.text}]
    try:
        return transcript_summarize(
            segments,
            provider=provider,
            prompt_version=prompt_version,
            budget=DailyBudget(),
            ads=ads,
            context=episode_context(episode),
        )
    except MalformedReply as exc:
        _flag_malformed(episode=episode, exc=exc, prompt_version=prompt_version, provider=provider)
        logger.warning(
            "summary_malformed",
            extra={"event": "summary_malformed", "episode_id": episode.pk, "reason": exc.reason, "provider": provider},
        )
        raise SummaryMalformed(f"the {provider} reply was unusable ({exc.reason}): {exc.detail[:300]}") from exc
    except BudgetExceeded as exc:
        retry_at = next_utc_midnight()
        _flag_budget(episode=episode, retry_at=retry_at)
        raise SummaryBudgetExhausted(str(exc), retry_at=retry_at) from exc
    except ProviderUnavailable as exc:
        raise SummaryLLMUnavailable(str(exc)) from exc
    except TranscriptTooShort as exc:
        raise SummaryNotApplicable(str(exc)) from exc
    except (ProviderError, ValueError) as exc:
        raise SummaryGenerationError(str(exc)) from exc


def summary_blocked_reason(summary: Summary) -> str:
    """Why a new candidate must wait for a curator ('' when it may be published)."""
    open_items = CurationItem.objects.filter(status__in=OPEN_STATUSES, severity__in=["P0", "P1"]).filter(
        Q(content_type=ContentType.objects.get_for_model(Episode), object_id=str(summary.episode_id))
        | Q(content_type=ContentType.objects.get_for_model(Summary), object_id=str(summary.pk))
    )
    if open_items.exists():
        return "an open P0/P1 curation item"
    curated = Summary.objects.filter(episode_id=summary.episode_id, editorial_status__in=CURATED_STATES).exclude(pk=summary.pk)
    if curated.exists():
        return "a curator featured or hid an earlier summary"
    return ""


def summary_supersede_older(*, summary: Summary) -> list[int]:
    """Retire the episode's other non-retired summaries now that `summary` is visible.

    Automation never touches a curator's featured or hidden summary, and does
    nothing unless `summary` itself is published or featured (so an episode that
    had a summary never shows none). Returns the retired ids.
    """
    summary.refresh_from_db(fields=["editorial_status"])
    if summary.editorial_status not in (EditorialStatus.PUBLISHED, EditorialStatus.FEATURED):
        return []
    retired = []
    older = (
        Summary.objects.filter(episode_id=summary.episode_id)
        .exclude(pk=summary.pk)
        .exclude(editorial_status__in=[EditorialStatus.RETIRED, *CURATED_STATES])
    )
    with transaction.atomic():
        for old in older:
            try:
                moved = editorial_transition(
                    old, EditorialStatus.RETIRED, actor=None, reason=f"superseded by summary {summary.pk}", automated=True
                )
            except IllegalTransition:
                continue  # a curator changed it meanwhile: leave it
            if moved:
                Summary.objects.filter(pk=old.pk).update(superseded_by=summary)
                retired.append(old.pk)
    return retired


def summary_store(*, episode: Episode, result: SummaryResult, hash_: str, ads: AdSpans, supersede: bool) -> Summary:
    """Create the candidate (recording the `ads` it was made without), flag dropped quotes,
    publish it when nothing blocks it. Call inside atomic()."""
    summary = Summary.objects.create(
        episode=episode,
        content=result.content,
        prompt_version=result.prompt_version,
        provider=result.provider,
        model=result.model,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        cost_usd=result.usage.cost_usd or Decimal("0"),
        requests=result.usage.requests,
        source_hash=hash_,
        ad_spans=ad_spans_key(ads),
        warnings=result.warnings,
    )
    if result.dropped_quotes:
        _flag_unverified(
            summary=summary,
            flag_class=CurationItem.FlagClass.UNVERIFIED_QUOTE,
            dropped_key="dropped_quotes",
            dropped=result.dropped_quotes,
        )
    if result.dropped_ads:
        _flag_unverified(
            summary=summary,
            flag_class=CurationItem.FlagClass.UNVERIFIED_AD_SPAN,
            dropped_key="dropped_ad_spans",
            dropped=result.dropped_ads,
        )
    reason = summary_blocked_reason(summary)
    if reason:
        logger.info("summary_held", extra={"event": "summary_held", "summary_id": summary.pk, "reason": reason})
    else:
        try:
            with transaction.atomic():
                editorial_transition(
                    summary, EditorialStatus.PUBLISHED, actor=None, reason="validated, nothing open", automated=True
                )
                if supersede:
                    summary_supersede_older(summary=summary)
        except IllegalTransition:
            summary.refresh_from_db(fields=["editorial_status"])  # stays a candidate for a curator
    logger.info(
        "summary_stored",
        extra={
            "event": "summary_stored",
            "summary_id": summary.pk,
            "episode_id": episode.pk,
            "provider": summary.provider,
            "prompt_version": summary.prompt_version,
            "editorial_status": summary.editorial_status,
            "input_tokens": summary.input_tokens,
            "output_tokens": summary.output_tokens,
            "requests": summary.requests,
        },
    )
    return summary


def summary_generate(*, episode: Episode, prompt_version: str, force: bool = False, provider: str | None = None) -> Summary:
    """Summarize the episode's transcript at `prompt_version` and store a new candidate.

    Same source hash and not `force` → the existing summary, no LLM call. The new
    summary is published when it validates and nothing blocks it; older ones are
    left alone (the caller retires them, e.g. with summary_supersede_older).
    Raises SummaryGenerationError (or a subclass) when no valid summary came back.
    """
    provider = provider or provider_default()
    transcript = transcript_for(episode)
    ads = transcript_ad_spans(transcript)
    hash_ = summary_source_hash(transcript=transcript, prompt_version=prompt_version, provider=provider, ads=ads)
    if not force:
        existing = summary_reusable(episode=episode, hash_=hash_)
        if existing is not None:
            return existing
    result = summary_produce(episode=episode, transcript=transcript, prompt_version=prompt_version, provider=provider, ads=ads)
    with transaction.atomic():
        return summary_store(episode=episode, result=result, hash_=hash_, ads=ads, supersede=False)
