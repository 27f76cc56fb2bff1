"""Reads behind the subscriber pages: one or two queries each, whatever the row count."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from podcasts.models import Episode, Podcast, Subscription, Transcript
from summaries.models import Delivery, EditorialStatus, Summary

# What subscribers may see: curator-hidden, retired and unreviewed candidates are not shown.
VISIBLE_SUMMARY_STATES = (EditorialStatus.PUBLISHED, EditorialStatus.FEATURED)
SEARCH_CONFIG = "english"


def episodes_visible() -> QuerySet[Episode]:
    """Episodes a subscriber may open: not hidden by a curator, of an active podcast."""
    return Episode.objects.filter(hidden=False, podcast__status=Podcast.Status.ACTIVE)


def podcasts_visible() -> QuerySet[Podcast]:
    return Podcast.objects.filter(status=Podcast.Status.ACTIVE)


def summaries_visible() -> QuerySet[Summary]:
    """Summaries subscribers may read, the current one first: a featured one, else the
    newest published (as summaries.selectors.summary_visible_for_episode).

    A summary made for a regeneration still in flight is not shown yet, even if
    the summarizer published it: delete-last means the old one stays current
    until the email is sent and the swap commits (summaries.deliveries).
    """
    in_flight = Delivery.objects.filter(
        summary_id=OuterRef("pk"),
        kind=Delivery.Kind.REGENERATION,
        status__in=(Delivery.Status.PENDING, Delivery.Status.PROCESSING),
    )
    return (
        Summary.objects.filter(editorial_status__in=VISIBLE_SUMMARY_STATES)
        .filter(~Exists(in_flight))
        .annotate(
            featured_first=Case(
                When(editorial_status=EditorialStatus.FEATURED, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("featured_first", "-created_at", "-id")
    )


def summary_current(*, episode_id: int) -> Summary | None:
    """The summary shown for an episode: a featured one, else the newest published one."""
    return summaries_visible().filter(episode_id=episode_id).first()


def with_current_tldr(queryset: QuerySet[Episode]) -> QuerySet[Episode]:
    """Annotate `current_tldr` with one correlated subquery, no N+1."""
    current = summaries_visible().filter(episode_id=OuterRef("pk"))
    return queryset.annotate(current_tldr=Subquery(current.values("content__tldr")[:1]))


def home_stream(*, user: AbstractBaseUser) -> QuerySet[Episode]:
    """The newest episodes of the podcasts `user` subscribes to."""
    subscribed = Subscription.objects.filter(user=user).values("podcast_id")
    return with_current_tldr(
        episodes_visible().filter(podcast_id__in=subscribed).select_related("podcast")
    ).order_by(F("published_at").desc(nulls_last=True), "-id")


def latest_episodes() -> QuerySet[Episode]:
    """The public landing's sample: recent summarized episodes across the directory."""
    return with_current_tldr(episodes_visible().select_related("podcast")).filter(
        current_tldr__isnull=False
    ).order_by(F("published_at").desc(nulls_last=True), "-id")


def podcast_directory(*, user: AbstractBaseUser) -> QuerySet[Podcast]:
    podcasts = podcasts_visible().annotate(
        episode_count=Count("episodes", filter=Q(episodes__hidden=False))
    ).order_by("title", "id")
    if user.is_authenticated:
        podcasts = podcasts.annotate(
            subscribed=Exists(Subscription.objects.filter(user=user, podcast_id=OuterRef("pk")))
        )
    return podcasts


def podcast_episodes(*, podcast: Podcast) -> QuerySet[Episode]:
    return with_current_tldr(episodes_visible().filter(podcast=podcast)).order_by(
        F("published_at").desc(nulls_last=True), "-id"
    )


def subscription_for(*, user: AbstractBaseUser, podcast: Podcast) -> Subscription | None:
    if not user.is_authenticated:
        return None
    return Subscription.objects.filter(user=user, podcast=podcast).first()


def regeneration_pending(*, episode_id: int, user: AbstractBaseUser) -> Delivery | None:
    """The user's open regeneration of this episode, read from the database (survives reloads)."""
    if not user.is_authenticated:
        return None
    return Delivery.objects.filter(
        episode_id=episode_id,
        user=user,
        kind=Delivery.Kind.REGENERATION,
        status__in=(Delivery.Status.PENDING, Delivery.Status.PROCESSING),
    ).first()


def summary_is_outdated(summary: Summary | None) -> bool:
    """Outdated: made with another prompt version than the current setting (server-side only)."""
    return summary is not None and summary.prompt_version != settings.SUMMARY_PROMPT_VERSION


def summary_is_regenerable(summary: Summary | None) -> bool:
    """Outdated and not featured: a curator's featured pick is sticky, regeneration never replaces it."""
    return summary_is_outdated(summary) and summary.editorial_status != EditorialStatus.FEATURED


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


# --- Search -------------------------------------------------------------------------

_MARK_OPEN = "\u2063MARKOPEN\u2063"
_MARK_CLOSE = "\u2063MARKCLOSE\u2063"


def _marked_snippet(raw: str) -> SafeString:
    """Escape a snippet taken from feed, transcript or LLM text, then add the <mark>s back."""
    escaped = escape(raw)
    return mark_safe(escaped.replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>"))


class RankedEpisodes(Sequence):
    """Search hits ranked in the database; slicing fetches one page of episodes (one query).

    Paginator counts it with len() and slices it, so a results page costs the
    ranking query plus the page's own.
    """

    def __init__(self, ids: list[int]):
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if isinstance(index, slice):
            page_ids = self.ids[index]
            if not page_ids:
                return []
            by_id = {e.pk: e for e in with_current_tldr(episodes_visible().select_related("podcast")).filter(pk__in=page_ids)}
            return [by_id[pk] for pk in page_ids if pk in by_id]
        return self[index : index + 1][0]


# Each source filtered through its own GIN index (podcasts/migrations/0003_search_indexes):
# titles rank highest, then summaries; transcripts only add a little, since ranking
# thousands of long transcripts would cost more than it tells.
_PG_SEARCH_SQL = """
SELECT e.id
FROM (
    SELECT u.id AS episode_id,
           ts_rank(to_tsvector('english'::regconfig, COALESCE(u.title, '')), websearch_to_tsquery('english'::regconfig, %(q)s)) AS rank
    FROM podcasts_episode u
    WHERE to_tsvector('english'::regconfig, COALESCE(u.title, '')) @@ websearch_to_tsquery('english'::regconfig, %(q)s)
    UNION ALL
    SELECT s.episode_id, 0.4 * ts_rank(s.search_vector, websearch_to_tsquery('english'::regconfig, %(q)s))
    FROM summaries_summary s
    WHERE s.search_vector @@ websearch_to_tsquery('english'::regconfig, %(q)s)
      AND s.editorial_status IN ('published', 'featured')
      AND NOT EXISTS (
          SELECT 1 FROM summaries_delivery d
          WHERE d.summary_id = s.id AND d.kind = 'regeneration' AND d.status IN ('pending', 'processing'))
    UNION ALL
    SELECT t.episode_id, 0.01
    FROM podcasts_transcript t
    WHERE t.search_vector @@ websearch_to_tsquery('english'::regconfig, %(q)s)
) AS hit
JOIN podcasts_episode e ON e.id = hit.episode_id
JOIN podcasts_podcast p ON p.id = e.podcast_id
WHERE NOT e.hidden AND p.status = 'active'
GROUP BY e.id, e.published_at
ORDER BY SUM(hit.rank) DESC, e.published_at DESC NULLS LAST, e.id DESC
LIMIT %(limit)s
"""
SEARCH_MAX_RESULTS = 5000


def episode_search(*, query: str) -> "QuerySet[Episode] | RankedEpisodes":
    """Episodes whose title, current summary or transcript matches `query`, best first.

    PostgreSQL: full-text search (websearch syntax, English stemming) ranked by
    title, then summary. SQLite: icontains, newest first.
    """
    query = query.strip()
    if not query:
        return episodes_visible().none()
    if settings.IS_POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute(_PG_SEARCH_SQL, {"q": query, "limit": SEARCH_MAX_RESULTS})
            return RankedEpisodes([row[0] for row in cursor.fetchall()])
    matching_summaries = summaries_visible().filter(content__icontains=query).values("episode_id")
    matching_transcripts = Transcript.objects.filter(text__icontains=query).values("episode_id")
    return with_current_tldr(episodes_visible().select_related("podcast")).filter(
        Q(title__icontains=query) | Q(pk__in=matching_summaries) | Q(pk__in=matching_transcripts)
    ).order_by(F("published_at").desc(nulls_last=True), "-id")


def search_snippets(*, episodes: list[Episode], query: str) -> dict[int, SafeString]:
    """Highlighted, escaped snippets for one page of results (one query on PostgreSQL)."""
    ids = [episode.pk for episode in episodes]
    if not ids or not query.strip():
        return {}
    snippets: dict[int, SafeString] = {}
    if settings.IS_POSTGRES:
        from django.contrib.postgres.search import SearchHeadline

        search_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        rows = (
            Transcript.objects.filter(episode_id__in=ids)
            .annotate(
                headline=SearchHeadline(
                    "text",
                    search_query,
                    config=SEARCH_CONFIG,
                    start_sel=_MARK_OPEN,
                    stop_sel=_MARK_CLOSE,
                    max_words=30,
                    min_words=12,
                )
            )
            .values_list("episode_id", "headline")
        )
        for episode_id, headline in rows:
            if headline and _MARK_OPEN in headline:
                snippets[episode_id] = _marked_snippet(headline)
        # Episodes matched by title or summary only: highlight the TL;DR in Python.
        for episode in episodes:
            if episode.pk not in snippets and episode.current_tldr:
                snippets[episode.pk] = _python_snippet(str(episode.current_tldr), query)
        return snippets
    texts = dict(Transcript.objects.filter(episode_id__in=ids).values_list("episode_id", "text"))
    for episode in episodes:
        for source in (texts.get(episode.pk) or "", str(episode.current_tldr or ""), episode.title):
            if query.strip().lower() in source.lower():
                snippets[episode.pk] = _python_snippet(source, query)
                break
    return snippets


def _python_snippet(text: str, query: str, *, width: int = 90) -> SafeString:
    """A window of `text` around the first query word, escaped, the words marked."""
    words = [re.escape(word) for word in query.split() if word.strip('"')]
    if not words:
        return mark_safe(escape(text[: 2 * width]))
    pattern = re.compile("|".join(word.strip('"') for word in words), re.IGNORECASE)
    found = pattern.search(text)
    start = max(0, found.start() - width) if found else 0
    window = text[start : start + 2 * width + (found.end() - found.start() if found else 0)]
    marked = pattern.sub(lambda m: f"{_MARK_OPEN}{m.group(0)}{_MARK_CLOSE}", window)
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + len(window) < len(text) else ""
    return _marked_snippet(prefix + marked + suffix)

