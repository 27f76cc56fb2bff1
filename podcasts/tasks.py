"""RQ jobs of the podcasts pipeline: thin, take ids, call one service.

A job that cannot claim its row returns quietly (duplicate or late delivery).
Their import paths are in Redis and in the stage table: keep them where they are.
"""

from podcasts.download import episode_download
from podcasts.pipeline import episode_transcribe


def download_episode(episode_id: int) -> str | None:
    """downloads queue: publisher transcript, else the audio (podcasts.download)."""
    return episode_download(episode_id=episode_id)


def transcribe_episode(episode_id: int) -> str | None:
    """transcription queue: whisper on the downloaded audio; run by the whisper worker."""
    return episode_transcribe(episode_id=episode_id)
