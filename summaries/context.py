"""What reaches a provider besides the transcript: the episode's context and its ad spans.

The two hooks every summary path shares (pipeline, regeneration, Message Batches):
`episode_context` (titles, show notes, hosts, language, from the feed) and
`transcript_ad_spans` (the spans the summary must not come from).
"""

from typing import Any

from podcasts.models import Episode, Transcript
from summaries.llm.prepare import EpisodeContext


def episode_context(episode: Episode) -> EpisodeContext:
    podcast = episode.podcast
    transcript = getattr(episode, "transcript", None)
    return EpisodeContext(
        title=episode.title,
        podcast=podcast.title,
        description=episode.description or "",
        # The feed's itunes:author is the closest thing to the hosts it names.
        hosts=podcast.author,
        language=(getattr(transcript, "language", "") or podcast.language or "en"),
    )


def transcript_ad_spans(transcript: Transcript) -> list[Any]:
    """The transcript's ad spans as (start, end, label).

    Wiring point for sponsor detection (issue 12): once `podcasts.AdSpan` exists this
    becomes one line reading the transcript's stored spans (curator corrections applied).
    """
    return []
