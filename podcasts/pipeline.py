"""Pipeline state transitions shared by every stage (download, transcribe, summarize).

Claim, work, commit (DESIGN.md): a job claims its row with a conditional UPDATE
(rowcount must be 1, so a duplicate or late job is a no-op), does the heavy work
outside any transaction, then writes the result and the next status in one short
atomic block and enqueues the next job on commit.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from podcasts.models import Episode

logger = logging.getLogger("castnotes.pipeline")

Status = Episode.PipelineStatus

# Each working state and the ready state a retry goes back to.
READY_BEFORE = {
    Status.DOWNLOADING: Status.NEW,
    Status.TRANSCRIBING: Status.DOWNLOADED,
    Status.SUMMARIZING: Status.TRANSCRIBED,
}
WORKING_STATES = tuple(READY_BEFORE)
READY_STATES = tuple(READY_BEFORE.values())


def retry_backoff(attempts: int) -> timedelta:
    """Exponential backoff for transient faults: 30 s, 60 s, 120 s, … capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def episode_claim(*, episode_id: int, from_status: str, to_status: str) -> Episode | None:
    """Move one episode from `from_status` to `to_status`; None when another job got there first."""
    now = timezone.now()
    claimed = Episode.objects.filter(pk=episode_id, pipeline_status=from_status).update(
        pipeline_status=to_status, status_changed_at=now, updated_at=now, enqueued_at=None
    )
    if claimed != 1:
        logger.info(
            "stage_claim_skipped",
            extra={"event": "stage_claim_skipped", "episode_id": episode_id, "expected": from_status},
        )
        return None
    return Episode.objects.select_related("podcast").get(pk=episode_id)


def episode_advance(*, episode_id: int, from_status: str, to_status: str, **fields) -> bool:
    """Finish a stage: conditional move out of the working state, clearing the error trail.

    Call inside the atomic block that stores the stage's result; returns False if
    the row was no longer in `from_status` (the sweeper took it back meanwhile).
    """
    now = timezone.now()
    moved = Episode.objects.filter(pk=episode_id, pipeline_status=from_status).update(
        pipeline_status=to_status,
        status_changed_at=now,
        updated_at=now,
        attempts=0,
        last_error="",
        retry_after=None,
        enqueued_at=now,
        **fields,
    )
    return moved == 1


def episode_defer(*, episode_id: int, working_status: str, until, reason: str) -> bool:
    """Put a claimed episode back to its ready state until `until`, without counting an attempt.

    For waits that are not faults (the daily LLM budget is spent): the episode is
    neither retried early nor failed; the sweeper picks it up after `until`.
    """
    now = timezone.now()
    moved = Episode.objects.filter(pk=episode_id, pipeline_status=working_status).update(
        pipeline_status=READY_BEFORE[working_status],
        status_changed_at=now,
        updated_at=now,
        enqueued_at=None,
        retry_after=until,
        last_error=reason[:2000],
    )
    if moved:
        logger.info(
            "stage_deferred",
            extra={"event": "stage_deferred", "episode_id": episode_id, "stage": working_status, "until": until.isoformat()},
        )
    return moved == 1


def episode_record_failure(
    *,
    episode_id: int,
    working_status: str,
    error: str,
    permanent: bool,
    give_up_status: str = Status.FAILED,
    flag_job_failed: bool = True,
) -> str | None:
    """Record a failed attempt of the stage in `working_status`; return the episode's new status.

    A transient fault goes back to the ready state with a backoff until
    MAX_ATTEMPTS; a permanent one (or the last attempt) moves to `give_up_status`
    and, for `failed`, opens a P0 job_failed curation item holding the error
    (unless `flag_job_failed=False`: the caller already flagged the cause itself).
    """
    from curation.services import enqueue_for_review

    error = error[:2000]
    now = timezone.now()
    with transaction.atomic():
        episode = Episode.objects.select_for_update().filter(pk=episode_id, pipeline_status=working_status).first()
        if episode is None:
            return None
        attempts = episode.attempts + 1
        exhausted = permanent or attempts >= settings.MAX_ATTEMPTS
        new_status = give_up_status if exhausted else READY_BEFORE[working_status]
        Episode.objects.filter(pk=episode_id).update(
            pipeline_status=new_status,
            attempts=attempts,
            last_error=error,
            status_changed_at=now,
            updated_at=now,
            enqueued_at=None,
            retry_after=None if exhausted else now + retry_backoff(attempts),
        )
        if new_status == Status.FAILED and flag_job_failed:
            enqueue_for_review(
                target=episode,
                flag_class="job_failed",
                severity="P0",
                proposed_action="retry_job",
                proposed_by=f"pipeline:{working_status}",
                evidence={
                    "episode_id": episode.pk,
                    "podcast_id": episode.podcast_id,
                    "title": episode.title,
                    "stage": working_status,
                    "attempts": attempts,
                    "error": error,
                },
            )
    logger.warning(
        "stage_failed",
        extra={
            "event": "stage_failed",
            "episode_id": episode_id,
            "stage": working_status,
            "attempts": attempts,
            "permanent": permanent,
            "new_status": new_status,
            "error": error[:300],
        },
    )
    return new_status
