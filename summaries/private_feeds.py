"""Private RSS feeds: a user's subscribed episodes with their summaries, for podcast apps.

Reads only. The markup is owned by templates (summaries/feed.xml and
summaries/feed_item.html, autoescaped); this module hands them raw values.
Visibility is the site's own: `episodes_visible()` and the current summary
(`summaries_visible()`), never a copy of those rules.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

from config.urlcache import reverse_pk
from podcasts.models import Episode, Podcast, Transcript
from podcasts.selectors import episodes_visible, podcasts_visible
from summaries.chapters import Chapter, episode_chapters
from summaries.models import Summary
from summaries.selectors import summaries_visible

# Podcast apps read a feed's newest items; older ones stay on the web pages.
FEED_MAX_ITEMS = 100

TRANSCRIPT_TYPES = {
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
    "json": "application/json",
}


@dataclass
class FeedItem:
    episode: Episode
    summary: Summary | None
    chapters: list[Chapter]
    has_transcript: bool
    transcript_types: dict[str, str] = field(default_factory=dict)
    # Filled in by feed_render: absolute links and the item's HTML.
    link: str = ""
    chapters_url: str = ""
    transcripts: list[tuple[str, str]] = field(default_factory=list)
    html: str = ""

    @property
    def content(self) -> dict:
        return self.summary.content if self.summary else {}


@dataclass
class Feed:
    title: str
    description: str
    podcast: Podcast | None
    items: list[FeedItem]
    last_modified: datetime | None


def _subscribed_episodes(*, user: AbstractBaseUser) -> QuerySet[Episode]:
    return episodes_visible().filter(podcast__subscriptions__user=user)


def feed_podcast(*, user: AbstractBaseUser, podcast_id: int) -> Podcast | None:
    """A visible podcast the user subscribes to (a one-podcast feed needs both)."""
    return podcasts_visible().filter(pk=podcast_id, subscriptions__user=user).first()


def _current_summaries(episode_ids: list[int]) -> dict[int, Summary]:
    """Each episode's current summary (summaries_visible() orders the current one first)."""
    current: dict[int, Summary] = {}
    for summary in summaries_visible().filter(episode_id__in=episode_ids):
        current.setdefault(summary.episode_id, summary)
    return current


def feed_items(*, user: AbstractBaseUser, podcast: Podcast | None = None, limit: int | None = None) -> list[FeedItem]:
    """The newest visible episodes of the user's subscriptions (or of one of them), in three queries."""
    limit = FEED_MAX_ITEMS if limit is None else limit
    episodes = _subscribed_episodes(user=user)
    if podcast is not None:
        episodes = episodes.filter(podcast=podcast)
    episodes = list(
        episodes.select_related("podcast")
        .defer("podcast__description", "podcast__curator_notes", "curator_notes", "last_error")
        .order_by("-published_at", "-id")[:limit]
    )
    ids = [episode.pk for episode in episodes]
    summaries = _current_summaries(ids)
    with_transcript = set(Transcript.objects.filter(episode_id__in=ids).values_list("episode_id", flat=True))
    items = []
    for episode in episodes:
        summary = summaries.get(episode.pk)
        has_transcript = episode.pk in with_transcript
        items.append(
            FeedItem(
                episode=episode,
                summary=summary,
                chapters=episode_chapters(episode=episode, summary=summary),
                has_transcript=has_transcript,
                transcript_types=TRANSCRIPT_TYPES if has_transcript else {},
            )
        )
    return items


def _last_modified(items: list[FeedItem]) -> datetime | None:
    stamps = []
    for item in items:
        stamps.append(item.episode.updated_at)
        if item.summary is not None:
            stamps += [item.summary.created_at, item.summary.editorial_changed_at]
    return max((stamp for stamp in stamps if stamp is not None), default=None)


def feed_build(*, user: AbstractBaseUser, podcast: Podcast | None = None) -> Feed:
    items = feed_items(user=user, podcast=podcast)
    if podcast is not None:
        title = f"{podcast.title or podcast.feed_url} · Castnotes"
        description = f"{podcast.title or podcast.feed_url}, with summaries, chapters and transcripts by Castnotes."
    else:
        title = "My podcasts · Castnotes"
        description = "Your Castnotes subscriptions, with summaries, chapters and transcripts."
    return Feed(title=title, description=description, podcast=podcast, items=items, last_modified=_last_modified(items))


@dataclass(frozen=True)
class FeedLinks:
    """Absolute links for one user's feed: `origin` is scheme://host of the request."""

    origin: str
    token: str

    def site(self) -> str:
        return self.origin + "/"

    def episode(self, pk: int) -> str:
        return self.origin + reverse_pk("summaries:episode_detail", pk)

    def chapters(self, pk: int) -> str:
        return self.origin + reverse_pk("listeners:episode_chapters", pk)

    def transcript(self, pk: int, fmt: str) -> str:
        return self.origin + reverse("listeners:feed_transcript", args=[self.token, pk, fmt])

    def feed(self, podcast: Podcast | None = None) -> str:
        if podcast is None:
            return self.origin + reverse("listeners:feed_all", args=[self.token])
        return self.origin + reverse("listeners:feed_podcast", args=[self.token, podcast.pk])


def feed_render(*, feed: Feed, links: FeedLinks) -> str:
    """The RSS 2.0 document, every value escaped by the templates."""
    for item in feed.items:
        pk = item.episode.pk
        item.link = links.episode(pk)
        # No chapters here but a publisher's chapters file: point the app at the publisher's own.
        item.chapters_url = links.chapters(pk) if item.chapters else item.episode.chapters_url
        item.transcripts = [(links.transcript(pk, fmt), mime) for fmt, mime in item.transcript_types.items()]
        item.html = render_to_string("summaries/feed_item.html", {"item": item})
    return render_to_string("summaries/feed.xml", {"feed": feed, "site_url": links.site(), "self_url": links.feed(feed.podcast)})


def feed_etag(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
