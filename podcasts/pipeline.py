"""Pipeline state transitions shared by every stage (download, transcribe, summarize).

Claim, work, commit (DESIGN.md): a job claims its row with a conditional UPDATE
(rowcount must be 1, so a duplicate or late job is a no-op), does the heavy work
outside any transaction, then writes the result and the next status in one short
atomic block and enqueues the next job on commit. Which stage follows which, and
on which queue, is the stage table's (podcasts.stages).
"""

import logging
import math
import re
import time
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.queues import enqueue
from curation.services import enqueue_for_review, review_item_join
from podcasts.ad_spans import ad_spans_store_detected, detect_for_episode
from podcasts.models import Episode, Podcast, Transcript
from podcasts.stages import (
    ready_before,
    ready_states,
    stage_from_ready,
    stage_from_working,
    stages,
    status_label,
    working_states,
)
from podcasts.transcription import (
    TranscriptionRefused,
    model_chain,
    model_default,
    model_label,
    model_next,
    models_release,
    transcribe_file,
)

logger = logging.getLogger("castnotes.pipeline")

Status = Episode.PipelineStatus


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
        pipeline_status=ready_before(working_status),
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
    backoff: bool = True,
    flag_job_failed: bool = True,
) -> str | None:
    """Record a failed attempt of the stage in `working_status`; return the episode's new status.

    A transient fault goes back to the ready state with a backoff until
    MAX_ATTEMPTS; a permanent one (or the last attempt) moves to `give_up_status`
    and, for `failed`, opens a P0 job_failed curation item holding the error
    (unless `flag_job_failed=False`: the caller already flagged the cause itself).
    `backoff=False` (the sweeper's stuck rows, which already waited) retries at once.
    """
    error = error[:2000]
    now = timezone.now()
    with transaction.atomic():
        episode = Episode.objects.select_for_update().filter(pk=episode_id, pipeline_status=working_status).first()
        if episode is None:
            return None
        attempts = episode.attempts + 1
        exhausted = permanent or attempts >= settings.MAX_ATTEMPTS
        new_status = give_up_status if exhausted else ready_before(working_status)
        Episode.objects.filter(pk=episode_id).update(
            pipeline_status=new_status,
            attempts=attempts,
            last_error=error,
            status_changed_at=now,
            updated_at=now,
            enqueued_at=None,
            retry_after=None if exhausted or not backoff else now + retry_backoff(attempts),
        )
        if new_status == Status.FAILED and flag_job_failed:
            episode_failure_flag(
                episode=episode, stage=working_status, attempts=attempts, error=error, proposed_by=f"pipeline:{working_status}"
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


# --- Failure notifications: one inbox item per feed and cause ----------------------------

_URLS = re.compile(r"\b\w+://\S+|\S*/\S+")
_LONG_NUMBERS = re.compile(r"\d{4,}")  # sizes, durations, ids; an HTTP status (3 digits) is kept


def failure_cause(*, stage: str, error: str) -> str:
    """What episodes failing for the same reason share: the stage and the error with its
    URLs, paths and long numbers blanked (each episode's enclosure URL differs)."""
    first_line = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    return f"{stage}: {_LONG_NUMBERS.sub('#', _URLS.sub('<url>', first_line))}"[:300]


def episode_failure_flag(*, episode: Episode, stage: str, attempts: int, error: str, proposed_by: str):
    """Tell curators an episode failed for good, once per feed and cause (docs/curation.md).

    - The feed is already flagged broken (an open feed_broken item): the episode joins
      that item (evidence.failed_episode_ids); a broken feed is one problem.
    - Another episode of the podcast failed the same way and its job_failed item is
      still open: the episode joins it (evidence.episode_ids; retrying the item
      retries them all).
    - Otherwise a P0 job_failed item opens on the episode.
    The podcast row is locked first, so episodes failing at once cannot each open one.
    """
    Podcast.objects.select_for_update().filter(pk=episode.podcast_id).first()
    joined = review_item_join(
        flag_classes=("feed_broken",),
        evidence_match={"podcast_id": episode.podcast_id},
        member_key="failed_episode_ids",
        member=episode.pk,
    )
    cause = failure_cause(stage=stage, error=error)
    if joined is None:
        joined = review_item_join(
            flag_classes=("job_failed",),
            evidence_match={"podcast_id": episode.podcast_id, "cause": cause},
            member_key="episode_ids",
            member=episode.pk,
        )
    if joined is not None:
        return joined
    return enqueue_for_review(
        target=episode,
        flag_class="job_failed",
        severity="P0",
        proposed_action="retry_job",
        proposed_by=proposed_by,
        evidence={
            "episode_id": episode.pk,
            "podcast_id": episode.podcast_id,
            "title": episode.title,
            "stage": stage,
            "attempts": attempts,
            "error": error,
            "cause": cause,
            "episode_ids": [episode.pk],
        },
    )


# --- Enqueueing the next stage ---------------------------------------------------------

# While set, stage services leave the next stage unenqueued (enqueued_at stays
# empty): `process` drives every stage itself in this process.
_drive_inline: ContextVar[bool] = ContextVar("castnotes_drive_inline", default=False)


@contextmanager
def pipeline_held():
    """Within this block, moves leave the next stage unenqueued (enqueued_at empty) instead
    of handing it to a queue, or, without Redis, running it at once: `process` or
    `sweep` picks it up later (the demo's replayed episode)."""
    token = _drive_inline.set(True)
    try:
        yield
    finally:
        _drive_inline.reset(token)


def transcription_job_timeout(duration: float | None) -> int:
    """RQ timeout of a transcription job: 15 min plus the audio's own length.

    tiny.en runs ~10x real time on 2 cores, so a 3-hour episode (~20 min of work)
    fits with room for a larger WHISPER_MODEL running near real time.
    """
    return int(900 + max(duration or 0.0, 0.0))


def download_job_timeout(duration: float | None = None) -> int:
    return int(settings.FETCH_AUDIO_DEADLINE + 300)


def transcription_stuck_seconds(duration: float | None) -> int:
    """A transcription may legitimately run for its whole RQ job timeout, so the sweeper
    waits at least that (plus a minute): past it the job is surely dead."""
    return max(settings.PIPELINE_STUCK_SECONDS, transcription_job_timeout(duration) + 60)


def episode_enqueue(*, episode_id: int, on_commit: bool = True) -> bool:
    """Hand the job for the episode's current ready state to its queue once the transaction commits.

    The public entry point for ingestion (new episodes) and for retries. Sets
    `enqueued_at`; a failed hand-over (Redis down) clears it again, so the
    sweeper enqueues the episode later. Returns False when there is no stage to run.
    `on_commit=False` (the sweeper, which holds no transaction) hands over at once.
    """
    episode = Episode.objects.filter(pk=episode_id).values("pipeline_status", "audio_duration").first()
    if episode is None:
        return False
    status = episode["pipeline_status"]
    stage = stage_from_ready(status)
    if stage is None or _drive_inline.get():
        # Not in any queue: `process` runs the stage itself, or no stage starts
        # from this state (e.g. no summarizer installed) and a later sweep picks the row up.
        Episode.objects.filter(pk=episode_id, pipeline_status=status).update(enqueued_at=None)
        return stage is not None
    timeout = stage.timeout(episode["audio_duration"])
    now = timezone.now()
    Episode.objects.filter(pk=episode_id, pipeline_status=status).update(enqueued_at=now)

    def hand_over() -> None:
        if not enqueue(stage.queue, stage.job, episode_id, job_timeout=timeout):
            # Nothing is lost: the row keeps its state and the sweeper enqueues it again.
            Episode.objects.filter(pk=episode_id, pipeline_status=status, enqueued_at=now).update(enqueued_at=None)

    if on_commit:
        transaction.on_commit(hand_over)
    else:
        hand_over()
    return True


# --- Storing a transcript ----------------------------------------------------------------


def transcript_store(
    *,
    episode_id: int,
    from_status: str,
    source: str,
    segments: list[dict[str, Any]],
    language: str = "",
    duration: float | None = None,
    model: str = "",
    wall_seconds: float | None = None,
    avg_logprob: float | None = None,
    no_speech_ratio: float | None = None,
    source_url: str = "",
    low_confidence: bool = False,
    episode_fields: dict[str, Any] | None = None,
) -> bool:
    """Store the episode's transcript and move it from `from_status` to `transcribed`, in one transaction.

    Returns False (and stores nothing) when the episode left `from_status`
    meanwhile, so a late or duplicate job is a no-op; the OneToOne on
    Transcript.episode is the last guard against a second transcript.
    """
    text = " ".join(s["text"] for s in segments)
    # Sponsor spans are computed before the transaction (CPU work, up to seconds on long episodes).
    ad_spans = detect_for_episode(episode_id=episode_id, segments=segments)
    with transaction.atomic():
        if not episode_advance(
            episode_id=episode_id, from_status=from_status, to_status=Status.TRANSCRIBED, **(episode_fields or {})
        ):
            logger.info("transcript_discarded", extra={"event": "transcript_discarded", "episode_id": episode_id})
            return False
        try:
            with transaction.atomic():
                transcript = Transcript.objects.create(
                    episode_id=episode_id,
                    source=source,
                    language=language,
                    duration=duration,
                    segments=segments,
                    text=text,
                    model=model,
                    wall_seconds=wall_seconds,
                    avg_logprob=avg_logprob,
                    no_speech_ratio=no_speech_ratio,
                    source_url=source_url,
                )
                if ad_spans is not None:
                    ad_spans_store_detected(transcript=transcript, spans=ad_spans)
        except IntegrityError:
            logger.info("transcript_exists", extra={"event": "transcript_exists", "episode_id": episode_id})
        episode = Episode.objects.get(pk=episode_id)
        if low_confidence:
            enqueue_for_review(
                target=episode,
                flag_class="low_confidence_transcript",
                severity="P2",
                proposed_action="retranscribe",
                proposed_by=f"pipeline:{source}",
                evidence={
                    "episode_id": episode_id,
                    "podcast_id": episode.podcast_id,
                    "title": episode.title,
                    "model": model,
                    "avg_logprob": avg_logprob,
                    "no_speech_ratio": no_speech_ratio,
                    "segments": len(segments),
                    "duration": duration,
                    "text_start": text[:500],
                },
            )
        episode_enqueue(episode_id=episode_id)
    logger.info(
        "transcript_stored",
        extra={"event": "transcript_stored", "episode_id": episode_id, "source": source, "segments": len(segments)},
    )
    return True


# --- Transcription: progress and the out-of-memory fallback ------------------------------


def episode_progress_record(*, episode_id: int, share: float) -> bool:
    """Write the share of audio transcribed (0–1) on a transcribing row; autocommits, so pages see it at once."""
    return (
        Episode.objects.filter(pk=episode_id, pipeline_status=Status.TRANSCRIBING).update(
            progress=min(max(share, 0.0), 1.0), progress_updated_at=timezone.now()
        )
        == 1
    )


class EpisodeCancelled(Exception):
    """The episode left `transcribing` while whisper ran (a curator cancelled it, or the sweeper took it back)."""


def episode_progress_recorder(*, episode_id: int) -> Callable[[float, float], None]:
    """A transcribe_file progress callback: one write per WHISPER_PROGRESS_SECONDS at most, and always the last.

    The write doubles as the cancel check: when it finds the row no longer
    `transcribing` (episode_cancel), it raises EpisodeCancelled, which stops
    whisper at that window instead of transcribing the rest for nothing.
    """
    last_write = -math.inf

    def record(done: float, total: float) -> None:
        nonlocal last_write
        final = total > 0 and done >= total
        if not final and time.monotonic() - last_write < settings.WHISPER_PROGRESS_SECONDS:
            return
        last_write = time.monotonic()
        if not episode_progress_record(episode_id=episode_id, share=done / total if total else 0.0):
            raise EpisodeCancelled(f"episode {episode_id} is no longer transcribing")

    return record


def episode_transcribe_fallback(*, episode_id: int, failed_model: str, why: str) -> str | None:
    """After running out of memory with `failed_model`, go back to downloaded with the next smaller model.

    No attempt is counted (the next model is a different job). At the end of
    WHISPER_FALLBACK_MODELS the episode fails for good, with a P0 item.
    """
    following = model_next(failed_model)
    if following is None:
        tried = ", ".join(model_label(name) for name in model_chain())
        return episode_record_failure(
            episode_id=episode_id,
            working_status=Status.TRANSCRIBING,
            error=f"{why} with {model_label(failed_model)}, the last model to try ({tried}): "
            "give the whisper worker more memory or add a smaller model to WHISPER_FALLBACK_MODELS.",
            permanent=True,
        )
    now = timezone.now()
    with transaction.atomic():
        moved = Episode.objects.filter(pk=episode_id, pipeline_status=Status.TRANSCRIBING).update(
            pipeline_status=Status.DOWNLOADED,
            whisper_model=following,
            last_error=f"{why} with {model_label(failed_model)}; retrying with {model_label(following)}."[:2000],
            progress=None,
            status_changed_at=now,
            updated_at=now,
            enqueued_at=None,
            retry_after=None,
        )
        if moved:
            episode_enqueue(episode_id=episode_id)
    logger.warning(
        "transcribe_fallback",
        extra={"event": "transcribe_fallback", "episode_id": episode_id, "failed_model": failed_model, "model": following},
    )
    return Status.DOWNLOADED if moved else None


# --- The transcription stage -------------------------------------------------------------


def episode_transcribe(*, episode_id: int) -> str | None:
    """downloaded → transcribing → transcribed; whisper runs outside any transaction."""
    episode = episode_claim(episode_id=episode_id, from_status=Status.DOWNLOADED, to_status=Status.TRANSCRIBING)
    if episode is None:
        return None
    path = Path(settings.MEDIA_ROOT) / episode.audio_path if episode.audio_path else None
    if path is None or not path.is_file():
        return _episode_redownload(episode=episode)
    model = episode.whisper_model or model_default()
    try:
        result = transcribe_file(
            path, model=model, language=episode.podcast.language, on_progress=episode_progress_recorder(episode_id=episode_id)
        )
    except TranscriptionRefused as exc:  # e.g. an English-only model and a French feed: retrying cannot help
        return episode_record_failure(
            episode_id=episode_id, working_status=Status.TRANSCRIBING, error=f"Transcription refused: {exc}", permanent=True
        )
    except EpisodeCancelled:
        logger.info("transcribe_cancelled", extra={"event": "transcribe_cancelled", "episode_id": episode_id})
        return None
    except MemoryError:
        models_release()  # free the model that did not fit before a smaller one loads
        return episode_transcribe_fallback(episode_id=episode_id, failed_model=model, why="Out of memory transcribing")
    except Exception as exc:  # whisper failing on probed audio is unexpected: retry, then fail with a P0
        logger.exception("transcribe_error", extra={"event": "transcribe_error", "episode_id": episode_id})
        return episode_record_failure(
            episode_id=episode_id,
            working_status=Status.TRANSCRIBING,
            error=f"Transcription failed: {type(exc).__name__}: {exc}",
            permanent=False,
        )
    stored = transcript_store(
        episode_id=episode_id,
        from_status=Status.TRANSCRIBING,
        source="whisper",
        segments=result.segments,
        language=result.language,
        duration=result.duration,
        model=result.model,
        wall_seconds=result.wall_seconds,
        avg_logprob=result.avg_logprob,
        no_speech_ratio=result.no_speech_ratio,
        low_confidence=result.low_confidence,
    )
    return Status.TRANSCRIBED if stored else None


def _episode_redownload(*, episode: Episode) -> str | None:
    """The audio file is gone (media wiped, another host): count an attempt and download again."""
    error = f"Audio file {episode.audio_path or '(none)'} is missing; downloading it again."
    if episode.attempts + 1 >= settings.MAX_ATTEMPTS:
        return episode_record_failure(episode_id=episode.pk, working_status=Status.TRANSCRIBING, error=error, permanent=True)
    with transaction.atomic():
        now = timezone.now()
        moved = Episode.objects.filter(pk=episode.pk, pipeline_status=Status.TRANSCRIBING).update(
            pipeline_status=Status.NEW,
            attempts=F("attempts") + 1,
            last_error=error,
            audio_path="",
            status_changed_at=now,
            updated_at=now,
        )
        if moved:
            episode_enqueue(episode_id=episode.pk)
    return Status.NEW if moved else None


# --- The sweeper ---------------------------------------------------------------------------


def stuck_threshold(*, status: str, audio_duration: float | None, stuck_after: int | None) -> int:
    """Seconds a row may stay in working `status` before the sweeper takes it back:
    the stage's own rule, unless an explicit `stuck_after` overrides every rule
    (tests, impatient operators)."""
    if stuck_after is not None:
        return stuck_after
    stage = stage_from_working(status)
    return stage.stuck_seconds(audio_duration) if stage is not None else settings.PIPELINE_STUCK_SECONDS


def pipeline_sweep(*, stuck_after: int | None = None) -> dict[str, list[int]]:
    """Recover what a crash, a lost worker or an unreachable Redis left behind. Idempotent.

    1. Rows in a working state past their threshold go back to their ready
       state (one attempt counted, no backoff), or to `failed` when exhausted.
    2. Ready rows with MAX_ATTEMPTS used up are failed with a P0 item.
    3. Ready rows not in any queue (never enqueued, enqueue failed, backoff
       over, or handed over longer than PIPELINE_LOST_JOB_SECONDS ago) are enqueued.
    """
    report: dict[str, list[int]] = {"stuck": [], "failed": [], "enqueued": [], "enqueue_failed": []}
    now = timezone.now()
    shortest = stuck_after if stuck_after is not None else settings.PIPELINE_STUCK_SECONDS
    working = Episode.objects.filter(
        pipeline_status__in=working_states(), status_changed_at__lte=now - timedelta(seconds=shortest)
    ).values_list("pk", "pipeline_status", "status_changed_at", "audio_duration", "whisper_model")
    for episode_id, status, changed_at, duration, whisper_model in working:
        limit = stuck_threshold(status=status, audio_duration=duration, stuck_after=stuck_after)
        if changed_at > now - timedelta(seconds=limit):
            continue
        _sweep_row(report, episode_id, "stuck", _sweep_stuck, report, episode_id, status, limit, whisper_model)

    exhausted = Episode.objects.filter(pipeline_status__in=ready_states(), attempts__gte=settings.MAX_ATTEMPTS)
    for episode_id, status in exhausted.values_list("pk", "pipeline_status"):
        _sweep_row(report, episode_id, "exhausted", _sweep_exhausted, report, episode_id, status)

    ready = list(ready_states())
    lost_before = now - timedelta(seconds=settings.PIPELINE_LOST_JOB_SECONDS)
    pending = (
        Episode.objects.filter(pipeline_status__in=ready)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=lost_before))
        .filter(Q(retry_after__isnull=True) | Q(retry_after__lte=now))
        .order_by("pk")
        .values_list("pk", "pipeline_status", "enqueued_at")
    )
    for episode_id, status, enqueued_at in pending:
        _sweep_row(report, episode_id, "enqueue", _sweep_pending, report, episode_id, status, enqueued_at)
    logger.info("sweep_done", extra={"event": "sweep_done", **{key: len(ids) for key, ids in report.items()}})
    return report


def _sweep_row(report: dict[str, list[int]], episode_id: int, step: str, work, *args) -> None:
    """One row's recovery: a bad row is logged and reported under "errors" (present only
    when there are some), and the sweep goes on."""
    try:
        work(*args)
    except Exception:
        logger.exception("sweep_row_failed", extra={"event": "sweep_row_failed", "episode_id": episode_id, "step": step})
        report.setdefault("errors", []).append(episode_id)


def _sweep_stuck(report: dict[str, list[int]], episode_id: int, status: str, limit: int, whisper_model: str) -> None:
    if status == Status.TRANSCRIBING and _transcribe_fallback_applies(whisper_model):
        # A whisper worker that vanished mid-job was most likely killed for memory.
        if episode_transcribe_fallback(
            episode_id=episode_id,
            failed_model=whisper_model or model_default(),
            why=f"Stuck in transcribing for over {limit} s (worker killed?)",
        ):
            report["stuck"].append(episode_id)
        return
    new_status = episode_record_failure(
        episode_id=episode_id,
        working_status=status,
        error=f"Stuck in {status} for over {limit} s (worker lost?); retrying.",
        permanent=False,
        backoff=False,
    )
    if new_status is not None:
        report["stuck"].append(episode_id)
        if new_status == Status.FAILED:
            report["failed"].append(episode_id)


def _sweep_exhausted(report: dict[str, list[int]], episode_id: int, status: str) -> None:
    if _episode_give_up(episode_id=episode_id, from_status=status):
        report["failed"].append(episode_id)


def _sweep_pending(report: dict[str, list[int]], episode_id: int, status: str, enqueued_at) -> None:
    # Only the sweeper that still sees the row unenqueued hands it over.
    if not Episode.objects.filter(pk=episode_id, pipeline_status=status, enqueued_at=enqueued_at).exists():
        return
    episode_enqueue(episode_id=episode_id, on_commit=False)
    still = Episode.objects.filter(pk=episode_id).values_list("pipeline_status", "enqueued_at").first()
    if still is not None and still[0] == status and still[1] is None:
        report["enqueue_failed"].append(episode_id)
    else:
        report["enqueued"].append(episode_id)


def _transcribe_fallback_applies(whisper_model: str) -> bool:
    """A smaller model is left to try (without WHISPER_FALLBACK_MODELS, stuck rows are retried as before)."""
    return model_next(whisper_model or model_default()) is not None


def _episode_give_up(*, episode_id: int, from_status: str) -> bool:
    """Fail a ready row whose attempts are used up, with the P0 job_failed item."""
    with transaction.atomic():
        episode = Episode.objects.select_for_update().filter(pk=episode_id, pipeline_status=from_status).first()
        if episode is None or episode.attempts < settings.MAX_ATTEMPTS:
            return False
        now = timezone.now()
        Episode.objects.filter(pk=episode_id).update(
            pipeline_status=Status.FAILED, status_changed_at=now, updated_at=now, enqueued_at=None, retry_after=None
        )
        episode_failure_flag(
            episode=episode, stage=from_status, attempts=episode.attempts, error=episode.last_error, proposed_by="pipeline:sweep"
        )
    return True


# --- Driving the pipeline in this process ------------------------------------------------


def pipeline_process(
    *, episode_ids: list[int] | None = None, limit: int | None = None, ignore_backoff: bool = False
) -> dict[str, Any]:
    """Run every pending stage of pending episodes here, in order, until each stops moving.

    Pending: the ready state of any registered stage (podcasts.stages). Backoff is honoured: a row whose `retry_after` is still
    ahead waits (reported as `waiting`), unless `ignore_backoff` (an operator
    naming episodes explicitly). A stage that fails transiently is not retried
    in the same run. Rows in a working state belong to a worker and are left alone.
    """
    table = {stage.ready: stage.run_function() for stage in stages()}
    now = timezone.now()
    candidates = Episode.objects.filter(pipeline_status__in=list(table)).order_by("published_at", "pk")
    if episode_ids:
        candidates = candidates.filter(pk__in=episode_ids)
    waiting = []
    if not ignore_backoff:
        waiting = list(candidates.filter(retry_after__gt=now).values_list("pk", flat=True))
        candidates = candidates.filter(Q(retry_after__isnull=True) | Q(retry_after__lte=now))
    ids = list(candidates.values_list("pk", flat=True))
    if limit is not None:
        ids = ids[:limit]
    errors: list[int] = []
    token = _drive_inline.set(True)
    try:
        for episode_id in ids:
            for _ in range(len(table) + 1):
                status = Episode.objects.values_list("pipeline_status", flat=True).get(pk=episode_id)
                stage = table.get(status)
                if stage is None:
                    break
                try:
                    stage(episode_id=episode_id)
                except Exception:  # a stage's own bug must not stop the other episodes
                    logger.exception(
                        "process_stage_error", extra={"event": "process_stage_error", "episode_id": episode_id, "stage": status}
                    )
                    errors.append(episode_id)
                    break
                if Episode.objects.values_list("pipeline_status", flat=True).get(pk=episode_id) == status:
                    break  # failed back to the same ready state: wait for the backoff
    finally:
        _drive_inline.reset(token)
    episodes = [
        {"id": pk, "status": status, "attempts": attempts, "last_error": last_error}
        for pk, status, attempts, last_error in Episode.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "pipeline_status", "attempts", "last_error")
    ]
    counts: dict[str, int] = {}
    for row in episodes:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {"processed": len(ids), "waiting": waiting, "errors": errors, "counts": counts, "episodes": episodes}


# --- Curators' moves: cancel, retry, re-transcribe --------------------------------------


def episode_cancel(*, episode_id: int, actor) -> str | None:
    """Stop queued or running work on an episode (a curator's cancel); return the status it left.

    The row moves to `cancelled`, which no stage starts from and the sweeper never
    looks at, until `episode_retry`. A job still in Redis then fails its claim; a
    running one finds out at its next write: whisper at its next progress write
    (EpisodeCancelled), any stage at its commit, which is conditional on the
    working state and so changes nothing. None when there is nothing to cancel.
    """
    cancellable = (*ready_states(), *working_states())
    with transaction.atomic():
        status = Episode.objects.select_for_update().filter(pk=episode_id).values_list("pipeline_status", flat=True).first()
        if status is None or status not in cancellable:
            return None
        now = timezone.now()
        Episode.objects.filter(pk=episode_id, pipeline_status=status).update(
            pipeline_status=Status.CANCELLED,
            last_error=f"Cancelled while {status_label(status).lower()} by {getattr(actor, 'username', None) or 'an operator'}.",
            enqueued_at=None,
            retry_after=None,
            progress=None,
            status_changed_at=now,
            updated_at=now,
        )
    logger.info(
        "episode_cancel",
        extra={"event": "episode_cancel", "episode_id": episode_id, "from": status, "actor_id": getattr(actor, "pk", None)},
    )
    return status


def episode_retry(*, episode_id: int, actor) -> str | None:
    """Send a failed or cancelled episode back to the ready state of the stage it stopped in (a curator's retry).

    The stage is read from what the episode already has (a transcript → summarize
    again, audio → transcribe again, else download again). Attempts and backoff
    start over and the stage is enqueued on commit (should that hand-over fail,
    `sweep` does it). Returns the new status, or None when the episode is neither failed nor cancelled.
    """
    with transaction.atomic():
        episode = (
            Episode.objects.select_for_update()
            .filter(pk=episode_id, pipeline_status__in=(Status.FAILED, Status.CANCELLED))
            .first()
        )
        if episode is None:
            return None
        if Transcript.objects.filter(episode_id=episode_id).exists():
            ready = Status.TRANSCRIBED
        elif episode.audio_path:
            ready = Status.DOWNLOADED
        else:
            ready = Status.NEW
        now = timezone.now()
        Episode.objects.filter(pk=episode_id).update(
            pipeline_status=ready, attempts=0, retry_after=None, enqueued_at=None, status_changed_at=now, updated_at=now
        )
        episode_enqueue(episode_id=episode_id)
    logger.info(
        "episode_retry",
        extra={"event": "episode_retry", "episode_id": episode_id, "status": ready, "actor_id": getattr(actor, "pk", None)},
    )
    return ready


def episode_retranscribe(*, episode_id: int, actor) -> str | None:
    """Transcribe the episode again (a curator's retranscribe): its transcript is removed and it
    goes back to `downloaded` (audio on disk) or `new` (download first), attempts reset.

    Its summaries stay as they are: the current one is shown until the new transcript's
    summary supersedes it. Returns the new status, or None while a stage is working on
    the episode (retry once it has finished) or when it has nothing to transcribe from.
    """
    with transaction.atomic():
        episode = Episode.objects.select_for_update().filter(pk=episode_id).first()
        if episode is None or episode.pipeline_status in working_states():
            return None
        audio = Path(settings.MEDIA_ROOT) / episode.audio_path if episode.audio_path else None
        ready = Status.DOWNLOADED if audio is not None and audio.is_file() else Status.NEW
        Transcript.objects.filter(episode_id=episode_id).delete()
        now = timezone.now()
        Episode.objects.filter(pk=episode_id).update(
            pipeline_status=ready,
            attempts=0,
            last_error="",
            retry_after=None,
            enqueued_at=None,
            status_changed_at=now,
            updated_at=now,
            **({} if ready == Status.DOWNLOADED else {"audio_path": ""}),
        )
        episode_enqueue(episode_id=episode_id)
    logger.info(
        "episode_retranscribe",
        extra={
            "event": "episode_retranscribe",
            "episode_id": episode_id,
            "status": ready,
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return ready
