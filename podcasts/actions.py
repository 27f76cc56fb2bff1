"""The curation actions podcasts carries out (registered in PodcastsConfig.ready())."""

from curation.models import CurationItem
from curation.services import ProposedActionFailed, proposed_action_target
from podcasts.pipeline import episode_retranscribe, episode_retry
from podcasts.services import PodcastNotPending, podcast_approve_submission


def retry_job(item: CurationItem, actor) -> str:
    """Retry the item's episode and every episode that failed the same way since (evidence.episode_ids)."""
    episode = proposed_action_target(item, "podcasts.episode")
    others = [pk for pk in item.evidence.get("episode_ids", []) if pk != episode.pk]
    new_status = episode_retry(episode_id=episode.pk, actor=actor)
    retried = sum(episode_retry(episode_id=pk, actor=actor) is not None for pk in others)
    if new_status is None and not retried:
        raise ProposedActionFailed(f"Episode {episode.pk} is no longer failed; nothing to retry.")
    if not others:
        return f"episode back to {new_status}"
    return f"{retried + (new_status is not None)} episodes retried"


def retranscribe(item: CurationItem, actor) -> str:
    episode = proposed_action_target(item, "podcasts.episode")
    new_status = episode_retranscribe(episode_id=episode.pk, actor=actor)
    if new_status is None:
        raise ProposedActionFailed(f"Episode {episode.pk} is being worked on; try again once it has finished.")
    return f"transcript removed, episode back to {new_status}"


def ingest_feed(item: CurationItem, actor) -> str:
    podcast = proposed_action_target(item, "podcasts.podcast")
    try:
        report = podcast_approve_submission(podcast=podcast, actor=actor)
    except PodcastNotPending as exc:
        raise ProposedActionFailed(str(exc)) from None
    if report.error:
        raise ProposedActionFailed(f"The feed could not be ingested: {report.error}")
    return f"feed approved and ingested ({report.created} episodes)"
