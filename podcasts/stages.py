"""The pipeline's stage table: each stage declared once, by the app that owns it.

A stage moves an episode from its ready state to its working state, runs, and
leaves it in the next ready state (or failed / skipped). Stage chaining
(`podcasts.pipeline.episode_enqueue`), `manage.py process`, `sweep`, the
scheduler and the status shown on pages all read this table, so adding a stage
is one `stage_register` call in the owning app's `AppConfig.ready()`: podcasts
registers download and transcribe, summaries registers summarize.

Jobs and stage functions are named by import path, so the table lives in the
lower app while higher apps fill it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from podcasts.models import Episode

Status = Episode.PipelineStatus


def _default_timeout(audio_duration: float | None) -> int | None:
    """The queue's own DEFAULT_TIMEOUT (RQ_QUEUES)."""
    return None


@dataclass(frozen=True)
class Stage:
    """One pipeline stage.

    `run` is the service that claims, works and commits (keyword `episode_id`);
    `job` is the thin RQ job calling it. `timeout(audio_duration)` gives the job's
    RQ timeout (None: the queue's default); `stuck_after(audio_duration)` how long a
    row may stay in `working` before the sweeper takes it back.
    """

    name: str
    ready: str
    working: str
    queue: str
    job: str
    run: str
    label: str
    timeout: Callable[[float | None], int | None] = _default_timeout
    stuck_after: Callable[[float | None], int] | None = None

    def run_function(self) -> Callable[..., Any]:
        return import_string(self.run)

    def stuck_seconds(self, audio_duration: float | None) -> int:
        if self.stuck_after is None:
            return settings.PIPELINE_STUCK_SECONDS
        return self.stuck_after(audio_duration)


_STAGES: dict[str, Stage] = {}


class StageConflict(ValueError):
    """Two stages claim the same name, ready state or working state."""


def stage_register(stage: Stage) -> Stage:
    """Add `stage` to the table (idempotent for the same declaration)."""
    for other in _STAGES.values():
        if other == stage:
            return stage
        if other.name == stage.name or other.ready == stage.ready or other.working == stage.working:
            raise StageConflict(f"stage {stage.name!r} conflicts with {other.name!r}")
    if stage.queue not in settings.QUEUE_NAMES:
        raise StageConflict(f"stage {stage.name!r} names unknown queue {stage.queue!r}")
    _STAGES[stage.name] = stage
    return stage


def stages() -> list[Stage]:
    """Every registered stage, in pipeline order (registration order)."""
    return list(_STAGES.values())


def stage_named(name: str) -> Stage:
    return _STAGES[name]


def stage_from_ready(status: str) -> Stage | None:
    """The stage that starts from ready `status`, if one is registered."""
    return next((stage for stage in _STAGES.values() if stage.ready == status), None)


def stage_from_working(status: str) -> Stage | None:
    """The stage whose working state is `status`, if one is registered."""
    return next((stage for stage in _STAGES.values() if stage.working == status), None)


def working_states() -> tuple[str, ...]:
    return tuple(stage.working for stage in _STAGES.values())


def ready_states() -> tuple[str, ...]:
    return tuple(stage.ready for stage in _STAGES.values())


def ready_before(working_status: str) -> str:
    """The ready state a working row goes back to (retry, defer, sweep)."""
    stage = stage_from_working(working_status)
    if stage is None:
        raise KeyError(f"no stage works in {working_status!r}")
    return stage.ready


def status_label(status: str) -> str:
    """The episode's pipeline status in words, as pages show it."""
    stage = stage_from_working(status)
    if stage is not None:
        return stage.label
    if stage_from_ready(status) is not None:
        return "Queued"
    return Status(status).label if status in Status.values else status


# --- Other work `sweep` recovers --------------------------------------------------------
#
# Rows outside the episode pipeline that also follow claim, work, commit (e.g. the
# summaries app's deliveries) register their own idempotent sweep here; `manage.py
# sweep` runs each after the pipeline's and reports it under its name.

_SWEEPERS: dict[str, str] = {}


def sweeper_register(name: str, function: str) -> None:
    """Register the sweep at import path `function` (no arguments, returns a JSON-able dict)."""
    if _SWEEPERS.get(name, function) != function:
        raise StageConflict(f"sweeper {name!r} is already registered")
    _SWEEPERS[name] = function


def sweepers() -> dict[str, Callable[[], dict[str, Any]]]:
    """Every registered sweep, by name, in registration order."""
    return {name: import_string(path) for name, path in _SWEEPERS.items()}
