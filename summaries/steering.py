"""Curators steering in-flight work from /admin/pipeline/: retry, cancel, re-transcribe,
re-summarize, each one CuratorAction.

The moves themselves are the owning apps' services (podcasts.pipeline.episode_retry,
episode_cancel, episode_retranscribe; summaries.services.episode_resummarize),
which the curation inbox's proposed-action handlers call too (there, resolving the
item is the logged action). Here the log row is written in the move's own
transaction, so a refused or failed move logs nothing.
"""

import logging

from django.db import transaction

from curation.services import curator_action_record
from podcasts.models import Episode
from podcasts.pipeline import episode_cancel, episode_retranscribe, episode_retry
from summaries.generation import SummaryGenerationError
from summaries.services import episode_resummarize

logger = logging.getLogger("castnotes.pipeline")

STEER_ACTIONS = ("retry", "cancel", "retranscribe", "resummarize")


class SteerRefused(Exception):
    """The move does not apply to the episode as it is now; the message says why."""


def _move(*, episode_id: int, action: str, actor) -> str:
    if action == "retry":
        if episode_retry(episode_id=episode_id, actor=actor) is None:
            raise SteerRefused(f"Episode {episode_id} is neither failed nor cancelled: nothing to retry.")
        return "retried"
    if action == "cancel":
        if episode_cancel(episode_id=episode_id, actor=actor) is None:
            raise SteerRefused(f"Episode {episode_id} has no queued or running work to cancel.")
        return "cancelled"
    if action == "retranscribe":
        if episode_retranscribe(episode_id=episode_id, actor=actor) is None:
            raise SteerRefused(f"Episode {episode_id} is being worked on; cancel it first or try once it has finished.")
        return "transcript removed, transcribing again"
    if action == "resummarize":
        try:
            delivery = episode_resummarize(episode_id=episode_id, actor=actor)
        except SummaryGenerationError as exc:
            raise SteerRefused(str(exc)) from None
        if delivery is None:
            return "back to the summarize stage"
        return f"fresh summary requested (delivery {delivery.pk}); the current one stays until it is ready"
    raise SteerRefused(f"Unknown pipeline action {action!r}.")


def episode_steer(*, episode_id: int, action: str, actor, reason: str = "") -> str:
    """Carry out `action` (one of STEER_ACTIONS) on the episode and log it as one
    CuratorAction (from / to the pipeline status); return what was done.
    Raises SteerRefused, logging nothing, when the move does not apply."""
    with transaction.atomic():
        episode = Episode.objects.select_for_update().filter(pk=episode_id).first()
        if episode is None:
            raise SteerRefused(f"Episode {episode_id} no longer exists.")
        before = episode.pipeline_status
        done = _move(episode_id=episode_id, action=action, actor=actor)
        after = Episode.objects.values_list("pipeline_status", flat=True).get(pk=episode_id)
        curator_action_record(
            actor=actor,
            target=episode,
            action=f"pipeline_{action}",
            from_state=before,
            to_state=after,
            reason=reason or done,
        )
    logger.info(
        "pipeline_steer",
        extra={"event": "pipeline_steer", "episode_id": episode_id, "action": action, "from": before, "to": after},
    )
    return done
