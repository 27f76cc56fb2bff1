"""The `summarize` pipeline stage, curators' re-summarize, and the demo's summaries.

Generating and storing a summary is summaries.generation's; this module moves the
episode through the pipeline around it. See docs/summaries.md for the decisions
behind the failure handling.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from curation.services import editorial_transition
from podcasts.models import Episode, Transcript
from podcasts.pipeline import episode_advance, episode_claim, episode_defer, episode_enqueue, episode_record_failure
from summaries.context import transcript_ad_spans
from summaries.deliveries import deliveries_for_new_episode
from summaries.generation import (
    BUDGET_WAIT_REASON,
    SummaryBudgetExhausted,
    SummaryGenerationError,
    SummaryMalformed,
    SummaryNotApplicable,
    summary_blocked_reason,
    summary_generate,
    summary_produce,
    summary_reusable,
    summary_source_hash,
    summary_store,
    summary_supersede_older,
    transcript_for,
)
from summaries.llm import provider_default
from summaries.models import Delivery, EditorialStatus, Summary
from summaries.regeneration import regeneration_system_request
from summaries.selectors import summary_current

logger = logging.getLogger("castnotes.summaries")

Status = Episode.PipelineStatus


def episode_summarize(*, episode_id: int, prompt_version: str | None = None) -> Summary | None:
    """The `summarize` pipeline stage: transcribed → summarizing → summarized.

    A late or duplicate job (not `transcribed`, or waiting for `retry_after`) is a
    no-op. Outcomes: a summary stored and the episode `summarized`; the budget
    spent → back to `transcribed` until the next UTC midnight (not a failure);
    the LLM unavailable → a retry with backoff; a malformed reply → `failed`
    with one P1 malformed_llm_output item (no automatic retry: see docs/summaries.md).
    """
    now = timezone.now()
    if Episode.objects.filter(pk=episode_id, pipeline_status=Status.TRANSCRIBED, retry_after__gt=now).exists():
        logger.info("stage_waiting", extra={"event": "stage_waiting", "episode_id": episode_id, "stage": "summarize"})
        return None
    episode = episode_claim(episode_id=episode_id, from_status=Status.TRANSCRIBED, to_status=Status.SUMMARIZING)
    if episode is None:
        return None
    prompt_version = prompt_version or settings.SUMMARY_PROMPT_VERSION
    provider = provider_default()

    def fail(error: str, *, permanent: bool, flag_job_failed: bool = True) -> None:
        episode_record_failure(
            episode_id=episode_id,
            working_status=Status.SUMMARIZING,
            error=error,
            permanent=permanent,
            flag_job_failed=flag_job_failed,
        )

    try:
        transcript = transcript_for(episode)
        ads = transcript_ad_spans(transcript)
        hash_ = summary_source_hash(transcript=transcript, prompt_version=prompt_version, provider=provider, ads=ads)
        existing = summary_reusable(episode=episode, hash_=hash_)
        if existing is not None:
            with transaction.atomic():
                episode_advance(episode_id=episode_id, from_status=Status.SUMMARIZING, to_status=Status.SUMMARIZED)
            return existing
        result = summary_produce(
            episode=episode, transcript=transcript, prompt_version=prompt_version, provider=provider, ads=ads
        )
    except SummaryBudgetExhausted as exc:
        episode_defer(episode_id=episode_id, working_status=Status.SUMMARIZING, until=exc.retry_at, reason=BUDGET_WAIT_REASON)
        return None
    except SummaryMalformed as exc:
        fail(str(exc), permanent=True, flag_job_failed=False)
        return None
    except SummaryNotApplicable as exc:
        # Not a failure for a curator to chase: the episode is skipped with the reason.
        episode_record_failure(
            episode_id=episode_id,
            working_status=Status.SUMMARIZING,
            error=f"Not summarized: {exc}",
            permanent=True,
            give_up_status=Status.SKIPPED,
            flag_job_failed=False,
        )
        return None
    except SummaryGenerationError as exc:
        fail(str(exc), permanent=not exc.transient)
        return None
    except Exception as exc:  # a bug or an unexpected outage: retried with backoff, never a crash loop
        logger.exception("summarize_crashed", extra={"event": "summarize_crashed", "episode_id": episode_id})
        fail(f"{type(exc).__name__}: {exc}", permanent=False)
        return None

    with transaction.atomic():
        advanced = episode_advance(episode_id=episode_id, from_status=Status.SUMMARIZING, to_status=Status.SUMMARIZED)
        if not advanced and Episode.objects.filter(pk=episode_id, pipeline_status=Status.CANCELLED).exists():
            # Cancelled while the LLM worked: the late commit changes nothing, and nothing is shown.
            logger.info("summary_discarded", extra={"event": "summary_discarded", "episode_id": episode_id})
            return None
        summary = summary_store(episode=episode, result=result, hash_=hash_, ads=ads, supersede=True)
        if advanced and summary.editorial_status in (EditorialStatus.PUBLISHED, EditorialStatus.FEATURED):
            # Subscribers who opted in hear about the episode once it has a summary to show.
            transaction.on_commit(lambda: deliveries_for_new_episode(episode_id=episode_id))
    if not advanced:
        # The sweeper took the row back meanwhile; the next job reuses this summary by its hash.
        logger.info(
            "stage_advance_lost", extra={"event": "stage_advance_lost", "episode_id": episode_id, "summary_id": summary.pk}
        )
    return summary


# --- Demo ---------------------------------------------------------------------------------


def demo_summaries_ensure(*, outdated_version: str = "v2") -> dict[str, list[int]]:
    """Give every transcribed demo episode a visible summary: the oldest at `outdated_version`
    (so its Regenerate button shows), the others at the current prompt version.

    Idempotent: a second run finds the summaries in place and changes nothing.
    Returns {prompt_version: [episode ids]}.
    """
    current = settings.SUMMARY_PROMPT_VERSION
    episodes = list(Episode.objects.filter(transcript__isnull=False).order_by(F("published_at").asc(nulls_last=True), "id"))
    shown: dict[str, list[int]] = {}
    for position, episode in enumerate(episodes):
        version = outdated_version if position == 0 and outdated_version != current else current
        if episode.pipeline_status == Status.TRANSCRIBED:
            Episode.objects.filter(pk=episode.pk).update(retry_after=None)
            episode_summarize(episode_id=episode.pk, prompt_version=version)
        visible = summary_current(episode_id=episode.pk)
        if visible is None or visible.prompt_version != version:
            try:
                summary = summary_generate(episode=episode, prompt_version=version)
            except SummaryGenerationError as exc:
                logger.warning(
                    "demo_summary_failed", extra={"event": "demo_summary_failed", "episode_id": episode.pk, "error": str(exc)}
                )
                continue
            with transaction.atomic():
                if summary.editorial_status == EditorialStatus.CANDIDATE and not summary_blocked_reason(summary):
                    editorial_transition(summary, EditorialStatus.PUBLISHED, actor=None, reason="demo", automated=True)
                summary_supersede_older(summary=summary)
        shown.setdefault(version, []).append(episode.pk)
    return shown


# --- Re-summarize (a curator's proposed action) -------------------------------------------


def episode_resummarize(*, episode_id: int, actor) -> Delivery | None:
    """Summarize the episode again, afresh (a curator's re-summarize).

    A failed episode that has its transcript goes back to the summarize stage; one
    that already has a summary gets a regeneration of the system account at the
    current prompt version, so the new summary replaces the old one delete-last
    (summaries.deliveries) and the page never shows none. Returns the regeneration,
    or None when the episode was sent back to the stage. Raises
    SummaryGenerationError when there is nothing to summarize.
    """
    with transaction.atomic():
        episode = Episode.objects.select_for_update().filter(pk=episode_id).first()
        if episode is None or not Transcript.objects.filter(episode_id=episode_id).exists():
            raise SummaryGenerationError(f"Episode {episode_id} has no transcript to summarize.")
        if summary_current(episode_id=episode_id) is None:
            if episode.pipeline_status not in (Status.FAILED, Status.SKIPPED, Status.SUMMARIZED, Status.CANCELLED):
                raise SummaryGenerationError(f"Episode {episode_id} is still in the pipeline ({episode.pipeline_status}).")
            now = timezone.now()
            Episode.objects.filter(pk=episode_id).update(
                pipeline_status=Status.TRANSCRIBED,
                attempts=0,
                retry_after=None,
                enqueued_at=None,
                status_changed_at=now,
                updated_at=now,
            )
            episode_enqueue(episode_id=episode_id)
            delivery = None
        else:
            delivery = regeneration_system_request(episode_id=episode_id)
    logger.info(
        "episode_resummarize",
        extra={
            "event": "episode_resummarize",
            "episode_id": episode_id,
            "delivery_id": delivery.pk if delivery else None,
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return delivery
