"""RQ jobs of the podcasts pipeline: thin, take ids, call one service.

A job that cannot claim its row returns quietly (duplicate or late delivery).
"""


def download_episode(episode_id: int) -> str | None:
    """downloads queue: publisher transcript, else the audio (podcasts.download)."""
    from podcasts.download import episode_download

    return episode_download(episode_id=episode_id)


def transcribe_episode(episode_id: int) -> str | None:
    """transcription queue: whisper on the downloaded audio; run by the whisper worker."""
    from podcasts.pipeline import episode_transcribe

    return episode_transcribe(episode_id=episode_id)
