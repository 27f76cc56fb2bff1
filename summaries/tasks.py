"""RQ jobs of the summaries app: thin, take ids, call one service."""

from summaries.services import episode_summarize


def summarize_episode(episode_id: int) -> None:
    """The `summarize` stage on the `summaries` queue (enqueued on commit by transcription)."""
    episode_summarize(episode_id=episode_id)
