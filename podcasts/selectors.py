"""Reads of podcasts and episodes shared by every page: what a subscriber may see.

EPISODE_VISIBLE is the one definition of a visible episode (not hidden by a
curator, of an active podcast): the ORM form for querysets and the SQL form for
the hand-written statements of the pages (summaries.selectors), which
tests/web/test_sql_definitions.py checks against each other on both databases.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from podcasts.models import Episode, Podcast, Subscription, Transcript

# An Episode a subscriber may open. The SQL form reads `e` (podcasts_episode) and
# `p` (its podcasts_podcast).
_EPISODE_VISIBLE_FIELDS = {"hidden": False, "podcast__status": Podcast.Status.ACTIVE}


def episode_visible(prefix: str = "") -> Q:
    """EPISODE_VISIBLE for a query that reaches episodes through `prefix` (e.g. "episode__")."""
    return Q(**{prefix + name: value for name, value in _EPISODE_VISIBLE_FIELDS.items()})


EPISODE_VISIBLE = episode_visible()
EPISODE_VISIBLE_SQL = f"NOT e.hidden AND p.status = '{Podcast.Status.ACTIVE.value}'"
# A Podcast a subscriber may open; the SQL form reads `p`.
PODCAST_VISIBLE = Q(status=Podcast.Status.ACTIVE)
PODCAST_VISIBLE_SQL = f"p.status = '{Podcast.Status.ACTIVE.value}'"


def episodes_visible() -> QuerySet[Episode]:
    """Episodes a subscriber may open: not hidden by a curator, of an active podcast."""
    return Episode.objects.filter(EPISODE_VISIBLE)


def podcasts_visible() -> QuerySet[Podcast]:
    return Podcast.objects.filter(PODCAST_VISIBLE)


def podcast_directory(*, user: AbstractBaseUser) -> QuerySet[Podcast]:
    podcasts = (
        podcasts_visible().annotate(episode_count=Count("episodes", filter=episode_visible("episodes__"))).order_by("title", "id")
    )
    if user.is_authenticated:
        podcasts = podcasts.annotate(subscribed=Exists(Subscription.objects.filter(user=user, podcast_id=OuterRef("pk"))))
    return podcasts


@dataclass
class TranscriptLine:
    start: float
    text: str


def transcript_lines(transcript: Transcript | None) -> list[TranscriptLine]:
    if transcript is None:
        return []
    lines = []
    for segment in transcript.segments or []:
        try:
            start = float(segment.get("start", 0))
        except (TypeError, ValueError, AttributeError):
            continue
        text = str(segment.get("text", "")).strip()
        if text:
            lines.append(TranscriptLine(start=start, text=text))
    return lines
