"""What reaches a provider besides the transcript: the episode's context and its ad spans.

The two hooks every summary path shares (pipeline, regeneration, Message Batches):
`episode_context` (titles, show notes, hosts, language, from the feed) and
`transcript_ad_spans` (the spans the summary must not come from).
"""

from podcasts.ad_spans import transcript_ad_ranges
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


def ad_spans_key(ads) -> list[list[float]]:
    """Spans as a summary records and hashes them: [start, end] in seconds to 0.01, in order;
    labels left out (a renamed sponsor changes nothing the summary was made from)."""
    return sorted([round(float(start), 2), round(float(end), 2)] for start, end, *_ in ads)


def episode_ad_spans_key(*, episode_id: int) -> list[list[float]]:
    """ad_spans_key of the episode's transcript as it stands ([] without a transcript)."""
    transcript_id = Transcript.objects.filter(episode_id=episode_id).values_list("pk", flat=True).first()
    if transcript_id is None:
        return []
    return ad_spans_key((r.start, r.end) for r in transcript_ad_ranges(transcript_id=transcript_id))


def transcript_ad_spans(transcript: Transcript) -> list[tuple[float, float, str, bool]]:
    """The transcript's ad spans as (start, end, label, uncertain): every active span (detector,
    LLM or curator), overlaps joined, a curator's "not an ad" left out (podcasts.ad_spans);
    `uncertain` where the detector's edges are in it (summaries keep a margin around those)."""
    return [(span.start, span.end, span.label, span.uncertain) for span in transcript_ad_ranges(transcript_id=transcript.pk)]
