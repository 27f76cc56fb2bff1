"""An episode's pipeline status in words: the one definition the episode page, the
cards, the live fragment and GET /episodes/<id>/status share.

Built from the episode row alone (the stage table gives the words of each
stage), so every reader adds the columns in STATUS_COLUMNS_SQL to the query it
already runs instead of a query of its own.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from podcasts.models import Episode
from podcasts.stages import stage_from_ready, stage_from_working, status_label
from podcasts.templatetags.castnotes import timestamp
from summaries.generation import BUDGET_WAIT_REASON

Status = Episode.PipelineStatus

# The columns episode_status() reads, in its argument order, for hand-written SQL
# on podcasts_episode aliased `e`.
STATUS_FIELDS = (
    "pipeline_status",
    "progress",
    "audio_duration",
    "duration_seconds",
    "last_error",
    "retry_after",
    "status_changed_at",
    "progress_updated_at",
)
STATUS_COLUMNS_SQL = ", ".join(f"e.{field}" for field in STATUS_FIELDS)

# No further work is coming for these (until a curator steps in): pages stop polling.
FINAL_STATES = frozenset({Status.SUMMARIZED, Status.FAILED, Status.SKIPPED, Status.CANCELLED})


@dataclass(frozen=True, slots=True)
class EpisodeStatus:
    stage: str  # the pipeline status as stored, e.g. "transcribing"
    progress: float | None  # share of the stage done (0–1) when known
    detail: str  # the status in words, for this reader
    updated_at: datetime | None
    final: bool  # nothing more will happen on its own

    def as_json(self) -> dict:
        return {
            "stage": self.stage,
            "progress": self.progress,
            "detail": self.detail,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def _skip_reason(error: str) -> str:
    if error.startswith("Not summarized"):
        return "Skipped: too short to summarize"
    if "no audio enclosure" in error:
        return "Skipped: the episode has no audio"
    if "AUDIO_MAX" in error:
        return "Skipped: the audio is over the size or length cap"
    return "Skipped"


def _hms(seconds: float) -> str:
    """1:12:00 style (h:mm:ss, or m:ss under an hour), as the transcript's timestamps."""
    return timestamp(seconds)


def _aware(value):
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


def episode_status(
    pipeline_status: str,
    progress: float | None = None,
    audio_duration: float | None = None,
    duration_seconds: int | None = None,
    last_error: str = "",
    retry_after: datetime | None = None,
    status_changed_at: datetime | None = None,
    progress_updated_at: datetime | None = None,
    *,
    staff: bool = False,
    now: datetime | None = None,
) -> EpisodeStatus:
    """The status of an episode row (columns in STATUS_FIELDS order) in words.

    "Failed: <reason>" is for staff; everyone else reads "Not available" (an
    error can name hosts, paths or an LLM's reply).
    """
    last_error = last_error or ""
    retry_after = _aware(retry_after)
    updated_at = _aware(status_changed_at)
    if progress_updated_at is not None and (updated_at is None or _aware(progress_updated_at) > updated_at):
        updated_at = _aware(progress_updated_at)
    now = now or timezone.now()
    shown_progress = None
    if stage_from_working(pipeline_status) is not None:
        detail = status_label(pipeline_status)
        if pipeline_status == Status.TRANSCRIBING and progress is not None:
            shown_progress = float(progress)
            duration = audio_duration or duration_seconds
            if duration:
                detail = f"Transcribing {_hms(shown_progress * duration)} of {_hms(duration)}"
            else:
                detail = f"Transcribing {round(shown_progress * 100)}%"
    elif stage_from_ready(pipeline_status) is not None:
        if last_error == BUDGET_WAIT_REASON and retry_after is not None and retry_after > now:
            detail = f"Waiting for today's LLM budget — resumes at {retry_after.astimezone(UTC):%H:%M} UTC"
        else:
            detail = "Queued"
    elif pipeline_status == Status.SUMMARIZED:
        detail = "Summarized"
    elif pipeline_status == Status.FAILED:
        detail = f"Failed: {last_error or 'no reason recorded'}" if staff else "Not available"
    elif pipeline_status == Status.SKIPPED:
        detail = _skip_reason(last_error)
    elif pipeline_status == Status.CANCELLED:
        detail = "Cancelled"
    else:
        detail = status_label(pipeline_status)
    return EpisodeStatus(
        stage=pipeline_status,
        progress=shown_progress,
        detail=detail,
        updated_at=updated_at,
        final=pipeline_status in FINAL_STATES,
    )


def episode_status_of(episode: Episode, *, staff: bool = False) -> EpisodeStatus:
    """episode_status() of a loaded Episode (every STATUS_FIELDS column loaded)."""
    return episode_status(*(getattr(episode, field) for field in STATUS_FIELDS), staff=staff)
