"""Reads behind the pages that show summaries: one or two queries each, whatever the row count.

Home, podcast, episode and search pages, the episode cards, the one definition
of the summary subscribers see (summaries_visible() and its SQL form
VISIBLE_SUMMARY_SQL), and whether a regeneration is pending.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.numbers import MAX_PAGE, bounded_int
from config.urlcache import reverse_pk
from podcasts.models import Episode, Podcast, Subscription, Transcript
from podcasts.selectors import EPISODE_VISIBLE_SQL, PODCAST_VISIBLE_SQL, episodes_visible
from podcasts.stages import ready_states, working_states
from summaries.context import episode_ad_spans_key
from summaries.models import Delivery, EditorialStatus, Summary
from summaries.status import STATUS_COLUMNS_SQL, STATUS_FIELDS, EpisodeStatus, episode_status

# What subscribers may see: curator-hidden, retired and unreviewed candidates are not shown.
VISIBLE_SUMMARY_STATES = (EditorialStatus.PUBLISHED, EditorialStatus.FEATURED)


_EPISODE_PAGE_SQL = f"""
    SELECT e.id, e.podcast_id, e.title, e.description, e.published_at, e.enclosure_url, e.audio_path,
           {STATUS_COLUMNS_SQL},
           p.artwork_path AS podcast_artwork_path, p.title AS podcast_title, p.feed_url AS podcast_feed_url,
           t.id AS transcript_id, t.source AS transcript_source, t.segments AS transcript_segments,
           t.language AS transcript_language
    FROM podcasts_episode e
    JOIN podcasts_podcast p ON p.id = e.podcast_id
    LEFT JOIN podcasts_transcript t ON t.episode_id = e.id
    WHERE e.id = %s AND {EPISODE_VISIBLE_SQL}"""


def episode_page(*, pk: int) -> Episode | None:
    """A visible episode with what its page shows, its podcast and transcript, in one
    query (the ORM took ten times longer to build it than the database to run it).
    Only the columns the page reads are loaded: the transcript's full text and the
    pipeline's bookkeeping are most of a row's bytes."""
    episode = next(iter(Episode.objects.raw(_EPISODE_PAGE_SQL, [pk])), None)
    if episode is None:
        return None
    episode.podcast = Podcast(
        id=episode.podcast_id,
        title=episode.podcast_title,
        feed_url=episode.podcast_feed_url,
        artwork_path=episode.podcast_artwork_path,
    )
    if episode.transcript_id is None:
        Episode._meta.get_field("transcript").set_cached_value(episode, None)  # known absent: no query on access
    else:
        segments = Transcript._meta.get_field("segments").from_db_value(episode.transcript_segments, None, connection)
        Transcript(
            id=episode.transcript_id,
            episode=episode,
            source=episode.transcript_source,
            segments=segments,
            language=episode.transcript_language,
        )
    return episode


def summaries_visible() -> QuerySet[Summary]:
    """Summaries subscribers may read, the current one first: a featured one, else the
    newest published.

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
    """The summary shown for an episode: a featured one, else the newest published one
    (summaries_visible()'s first, read with the SQL the list pages use; see below)."""
    return next(iter(Summary.objects.raw(_CURRENT_SUMMARY_SQL, [episode_id])), None)


# --- Episode cards (home, podcast page, landing, search results) ----------------------
#
# List pages are the hottest reads, and building the ORM query for "episodes with
# their current TL;DR" (a correlated subquery holding another) costs several
# milliseconds of Python per query, far more than the database takes to run it.
# These pages read through the SQL below instead; it runs on PostgreSQL and SQLite
# alike. VISIBLE_SUMMARY_SQL must say what summaries_visible() says:
# tests/web/test_cards.py checks the two agree.

_VISIBLE = ", ".join(f"'{state.value}'" for state in VISIBLE_SUMMARY_STATES)
_IN_FLIGHT = ", ".join(f"'{status.value}'" for status in (Delivery.Status.PENDING, Delivery.Status.PROCESSING))
VISIBLE_SUMMARY_SQL = f"""
    s.editorial_status IN ({_VISIBLE})
    AND NOT EXISTS (
        SELECT 1 FROM summaries_delivery d
        WHERE d.summary_id = s.id AND d.kind = '{Delivery.Kind.REGENERATION.value}' AND d.status IN ({_IN_FLIGHT}))
"""
_CURRENT_FIRST = (
    f"CASE WHEN s.editorial_status = '{EditorialStatus.FEATURED.value}' THEN 0 ELSE 1 END, s.created_at DESC, s.id DESC"
)
_CURRENT_SUMMARY_SQL = f"""
    SELECT s.* FROM summaries_summary s
    WHERE s.episode_id = %s AND {VISIBLE_SUMMARY_SQL}
    ORDER BY {_CURRENT_FIRST} LIMIT 1"""
_CURRENT_TLDR_SQL = f"""(
    SELECT s.content ->> 'tldr' FROM summaries_summary s
    WHERE s.episode_id = e.id AND {VISIBLE_SUMMARY_SQL}
    ORDER BY {_CURRENT_FIRST} LIMIT 1)"""
_VISIBLE_EPISODES_SQL = f"""
    FROM podcasts_episode e JOIN podcasts_podcast p ON p.id = e.podcast_id
    WHERE {EPISODE_VISIBLE_SQL} AND ({{condition}})"""
_CARDS_SQL = f"""
    SELECT e.id, e.title, e.published_at, p.id, p.title, p.feed_url, {_CURRENT_TLDR_SQL}, {STATUS_COLUMNS_SQL},
           COUNT(*) OVER ()
    {_VISIBLE_EPISODES_SQL}
    ORDER BY e.published_at DESC NULLS LAST, e.id DESC
    LIMIT %s OFFSET %s"""
_COUNT_SQL = f"SELECT COUNT(*) {_VISIBLE_EPISODES_SQL}"


@dataclass(slots=True)
class PodcastRef:
    pk: int
    title: str
    feed_url: str

    def __str__(self) -> str:
        return self.title or self.feed_url

    def get_absolute_url(self) -> str:
        return reverse_pk("summaries:podcast_detail", self.pk)


@dataclass(slots=True)
class EpisodeCard:
    """What a list shows of an episode: enough for its link, byline, date and TL;DR."""

    pk: int
    title: str
    published_at: datetime | None
    podcast: PodcastRef
    current_tldr: str | None
    status_row: tuple = ()  # the STATUS_FIELDS columns, for summaries.status.episode_status
    snippet: "Snippet | None" = None

    def status(self, *, staff: bool = False) -> EpisodeStatus:
        return episode_status(*self.status_row, staff=staff)

    def get_absolute_url(self) -> str:
        return reverse_pk("summaries:episode_detail", self.pk)


def _aware(value):
    """SQLite hands raw SQL its datetimes as naive UTC (the ORM would make them aware)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


_STATUS_DATETIMES = tuple(i for i, field in enumerate(STATUS_FIELDS) if field.endswith("_at") or field == "retry_after")


def _status_row(values) -> tuple:
    """Raw STATUS_FIELDS values with their datetimes aware (SQLite hands them over as text)."""
    return tuple(_aware(value) if i in _STATUS_DATETIMES else value for i, value in enumerate(values))


def _cards(condition: str, params: list, *, limit: int, offset: int = 0) -> tuple[list[EpisodeCard], int | None]:
    """One page of cards, and the number of matching episodes (None when the page is empty)."""
    with connection.cursor() as cursor:
        cursor.execute(_CARDS_SQL.format(condition=condition), [*params, limit, offset])
        rows = cursor.fetchall()
    cards = [
        EpisodeCard(
            pk=row[0],
            title=row[1],
            published_at=_aware(row[2]),
            podcast=PodcastRef(pk=row[3], title=row[4], feed_url=row[5]),
            current_tldr=row[6],
            status_row=_status_row(row[7 : 7 + len(STATUS_FIELDS)]),
        )
        for row in rows
    ]
    return cards, (rows[0][-1] if rows else None)


class EpisodeCards(Sequence):
    """Visible episodes matching an SQL condition, newest first, as cards: a list for a
    Paginator (CardPaginator reads a page and the total in one query)."""

    def __init__(self, condition: str, params: list | tuple = ()):
        self.condition = condition
        self.params = list(params)

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(_COUNT_SQL.format(condition=self.condition), self.params)
            return cursor.fetchone()[0]

    def window(self, *, offset: int, limit: int) -> tuple[list[EpisodeCard], int | None]:
        """Cards offset..offset+limit and the total (None when that window is empty)."""
        return _cards(self.condition, self.params, limit=limit, offset=offset)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self.count() if index.stop is None else max(index.stop, 0))
            if step != 1:
                raise ValueError("EpisodeCards slices take no step")
            return self.window(offset=start, limit=max(stop - start, 0))[0]
        return self[index : index + 1][0]


class CardPaginator(Paginator):
    """A Paginator for EpisodeCards that reads a page's rows and the total with one
    query (COUNT(*) OVER ()) instead of a COUNT first. An empty or out-of-range page
    falls back to Paginator.get_page's rules (first page, or the last)."""

    def get_page(self, number):
        number = bounded_int(number, default=1, minimum=0, maximum=MAX_PAGE)  # 0: past the start, the last page
        if number >= 1:
            cards, total = self.object_list.window(offset=(number - 1) * self.per_page, limit=self.per_page)
            if cards:
                self.__dict__["count"] = total  # Paginator.count is a cached_property
                return self._get_page(cards, number, self)
        return super().get_page(number)


def cards_by_id(ids: list[int]) -> list[EpisodeCard]:
    """Cards for the visible episodes among `ids`, in the order given."""
    if not ids:
        return []
    placeholders = ", ".join(["%s"] * len(ids))
    by_id = {card.pk: card for card in _cards(f"e.id IN ({placeholders})", ids, limit=len(ids))[0]}
    return [by_id[pk] for pk in ids if pk in by_id]


def home_stream(*, user: AbstractBaseUser) -> EpisodeCards:
    """The newest episodes of the podcasts `user` subscribes to."""
    return EpisodeCards("e.podcast_id IN (SELECT podcast_id FROM podcasts_subscription WHERE user_id = %s)", [user.pk])


def latest_episodes() -> EpisodeCards:
    """The public landing's sample: recent summarized episodes across the directory."""
    return EpisodeCards(f"{_CURRENT_TLDR_SQL} IS NOT NULL")


def podcast_episodes(*, podcast: Podcast) -> EpisodeCards:
    return EpisodeCards("e.podcast_id = %s", [podcast.pk])


_PODCAST_PAGE_SQL = f"""
    SELECT p.*, s.id AS subscription_id, s.notify_new_episodes AS subscription_notify
    FROM podcasts_podcast p
    LEFT JOIN podcasts_subscription s ON s.podcast_id = p.id AND s.user_id = %s
    WHERE p.id = %s AND {PODCAST_VISIBLE_SQL}"""


def podcast_page(*, pk: int, user: AbstractBaseUser) -> tuple[Podcast, Subscription | None] | None:
    """An active podcast and the user's subscription to it (None when not subscribed or
    signed out), in one query."""
    user_id = user.pk if user.is_authenticated else None
    podcast = next(iter(Podcast.objects.raw(_PODCAST_PAGE_SQL, [user_id, pk])), None)
    if podcast is None:
        return None
    subscription = None
    if podcast.subscription_id is not None:
        subscription = Subscription(
            id=podcast.subscription_id, user_id=user_id, podcast=podcast, notify_new_episodes=bool(podcast.subscription_notify)
        )
    return podcast, subscription


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


_IN_FLIGHT_REGENERATION = f"d.kind = '{Delivery.Kind.REGENERATION.value}' AND d.status IN ({_IN_FLIGHT})"
_EPISODE_STATUS_SQL = f"""
    SELECT {STATUS_COLUMNS_SQL},
           EXISTS (SELECT 1 FROM summaries_summary s WHERE s.episode_id = e.id AND {VISIBLE_SUMMARY_SQL}),
           EXISTS (SELECT 1 FROM summaries_delivery d
                   WHERE d.episode_id = e.id AND d.user_id = %s AND {_IN_FLIGHT_REGENERATION})
    FROM podcasts_episode e JOIN podcasts_podcast p ON p.id = e.podcast_id
    WHERE e.id = %s AND {EPISODE_VISIBLE_SQL}"""


@dataclass(frozen=True, slots=True)
class EpisodeLiveState:
    status: EpisodeStatus
    summary_ready: bool
    regeneration_pending: bool

    def as_json(self) -> dict:
        return {**self.status.as_json(), "summary_ready": self.summary_ready, "regeneration_pending": self.regeneration_pending}


def episode_live_state(*, episode_id: int, user: AbstractBaseUser) -> EpisodeLiveState | None:
    """What GET /episodes/<id>/status answers, in one query: the status in words, whether
    a summary is shown, whether the user's regeneration is still in flight. None when
    the episode is not visible."""
    user_id = user.pk if user.is_authenticated else None
    with connection.cursor() as cursor:
        cursor.execute(_EPISODE_STATUS_SQL, [user_id, episode_id])
        row = cursor.fetchone()
    if row is None:
        return None
    columns = len(STATUS_FIELDS)
    status = episode_status(*_status_row(row[:columns]), staff=bool(getattr(user, "is_staff", False)))
    return EpisodeLiveState(status=status, summary_ready=bool(row[columns]), regeneration_pending=bool(row[columns + 1]))


def summary_is_outdated(summary: Summary | None, *, current_ads: list[list[float]] | None = None) -> bool:
    """Outdated (server-side only): made with another prompt version than the current setting,
    or without other ad spans than the transcript has now (a curator corrected one, or
    detection found others). A summary that did not record its spans (made before they were
    recorded) is judged by its prompt version alone. `current_ads`: the transcript's
    ad_spans_key when the caller has read it already."""
    if summary is None:
        return False
    if summary.prompt_version != settings.SUMMARY_PROMPT_VERSION:
        return True
    if summary.ad_spans is None:
        return False
    if current_ads is None:
        current_ads = episode_ad_spans_key(episode_id=summary.episode_id)
    return summary.ad_spans != current_ads


def summary_is_regenerable(summary: Summary | None, *, current_ads: list[list[float]] | None = None) -> bool:
    """Outdated and not featured: a curator's featured pick is sticky, regeneration never replaces it."""
    return summary_is_outdated(summary, current_ads=current_ads) and summary.editorial_status != EditorialStatus.FEATURED


# --- Search -------------------------------------------------------------------------

# A search snippet is plain text in pieces, each marked (a query word) or not: raw
# values, escaped only where markup is made (the episode_cards tag).
Snippet = tuple[tuple[str, bool], ...]
_MARK_OPEN = "\u2063MARKOPEN\u2063"
_MARK_CLOSE = "\u2063MARKCLOSE\u2063"
_MARKS = re.compile(f"{_MARK_OPEN}(.*?){_MARK_CLOSE}", re.DOTALL)


def _snippet(raw: str) -> Snippet:
    """Text with the query words between _MARK_OPEN/_MARK_CLOSE → its pieces."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _MARKS.finditer(raw):
        if match.start() > position:
            pieces.append((raw[position : match.start()], False))
        pieces.append((match.group(1), True))
        position = match.end()
    if position < len(raw):
        pieces.append((raw[position:], False))
    return tuple(pieces)


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
            return cards_by_id(self.ids[index])
        return self[index : index + 1][0]


# Each source filtered through its own GIN index (podcasts/migrations/0003_search_indexes):
# titles rank highest, then summaries; transcripts only add a little, since ranking
# thousands of long transcripts would cost more than it tells.
_PG_SEARCH_SQL = f"""
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
      AND {VISIBLE_SUMMARY_SQL}
    UNION ALL
    SELECT t.episode_id, 0.01
    FROM podcasts_transcript t
    WHERE t.search_vector @@ websearch_to_tsquery('english'::regconfig, %(q)s)
) AS hit
JOIN podcasts_episode e ON e.id = hit.episode_id
JOIN podcasts_podcast p ON p.id = e.podcast_id
WHERE {EPISODE_VISIBLE_SQL}
GROUP BY e.id, e.published_at
ORDER BY SUM(hit.rank) DESC, e.published_at DESC NULLS LAST, e.id DESC
LIMIT %(limit)s
"""
SEARCH_MAX_RESULTS = 5000


def _ranked_episode_ids(query: str) -> list[int]:
    """The ranked hits for `query`, kept in the cache for SEARCH_CACHE_SECONDS.

    A word common to a third of the library costs tens of milliseconds to rank,
    and every further page of the same results would rank it again. Visibility
    is applied again when a page is fetched, so a cached list never shows an
    episode or summary hidden since; a new episode appears once the entry expires.
    """
    key = "search:v1:" + hashlib.sha256(query.encode()).hexdigest()
    ids = cache.get(key) if settings.SEARCH_CACHE_SECONDS else None
    if ids is None:
        with connection.cursor() as cursor:
            cursor.execute(_PG_SEARCH_SQL, {"q": query, "limit": SEARCH_MAX_RESULTS})
            ids = [row[0] for row in cursor.fetchall()]
        if settings.SEARCH_CACHE_SECONDS:
            cache.set(key, ids, settings.SEARCH_CACHE_SECONDS)
    return ids


def episode_search(*, query: str) -> "RankedEpisodes":
    """Episodes whose title, current summary or transcript matches `query`, best first.

    PostgreSQL: full-text search (websearch syntax, English stemming) ranked by
    title, then summary. SQLite: icontains, newest first.
    """
    query = query.strip()
    if not query:
        return RankedEpisodes([])
    if settings.IS_POSTGRES:
        return RankedEpisodes(_ranked_episode_ids(query))
    matching_summaries = summaries_visible().filter(content__icontains=query).values("episode_id")
    matching_transcripts = Transcript.objects.filter(text__icontains=query).values("episode_id")
    matching = (
        episodes_visible()
        .filter(Q(title__icontains=query) | Q(pk__in=matching_summaries) | Q(pk__in=matching_transcripts))
        .order_by(F("published_at").desc(nulls_last=True), "-id")
    )
    return RankedEpisodes(list(matching.values_list("id", flat=True)[:SEARCH_MAX_RESULTS]))


# A transcript snippet is a window around the first match: found in SQL with strpos
# on the words as typed or their English stems (so an hour-long transcript is never
# sent over or parsed whole), then cut at word boundaries and marked in Python.
SNIPPET_WINDOW = 240
_PG_SNIPPET_SQL = """
SELECT t.episode_id,
       substr(t.text, greatest(1, hit.pos - %(before)s), %(width)s),
       hit.pos > %(before)s + 1,
       hit.pos - %(before)s + %(width)s <= length(t.text),
       stems.words
FROM podcasts_transcript t
CROSS JOIN (SELECT tsvector_to_array(to_tsvector('english'::regconfig, %(q)s)) AS words) AS stems
CROSS JOIN LATERAL (SELECT lower(t.text) AS body OFFSET 0) AS lowered  -- OFFSET 0: lower-case once, not per word
CROSS JOIN LATERAL (
    SELECT min(NULLIF(strpos(lowered.body, word), 0)) AS pos
    FROM unnest(%(words)s::text[] || stems.words) AS word
    WHERE word <> ''
) AS hit
WHERE t.episode_id = ANY(%(ids)s::bigint[]) AND hit.pos IS NOT NULL
"""


def _plain_words(query: str) -> list[str]:
    """The words of a websearch query as typed, lower-cased, without operators or negated words."""
    words = re.findall(r"-?\w+", query.lower())
    return [word for word in words if not word.startswith("-") and word != "or"]


def _marked_window(window: str, *, words: list[str], stems: list[str], cut_start: bool, cut_end: bool) -> Snippet:
    """A window of transcript text, cut back to whole words, the query's words (and any
    word starting with one of their stems) marked."""
    if cut_start:
        window = window.split(" ", 1)[-1]
    if cut_end:
        window = window.rsplit(" ", 1)[0]
    alternatives = [re.escape(word) for word in words] + [re.escape(stem) + r"\w*" for stem in stems]
    pattern = re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)
    marked = pattern.sub(lambda m: f"{_MARK_OPEN}{m.group(0)}{_MARK_CLOSE}", window.strip())
    return _snippet(("… " if cut_start else "") + marked + (" …" if cut_end else ""))


def search_snippets(*, episodes: "list[EpisodeCard]", query: str) -> dict[int, Snippet]:
    """Snippets with the query's words marked, for one page of results (one query on PostgreSQL)."""
    ids = [episode.pk for episode in episodes]
    if not ids or not query.strip():
        return {}
    snippets: dict[int, Snippet] = {}
    if settings.IS_POSTGRES:
        words = _plain_words(query)
        with connection.cursor() as cursor:
            cursor.execute(
                _PG_SNIPPET_SQL,
                {"q": query, "ids": ids, "words": words, "before": SNIPPET_WINDOW // 3, "width": SNIPPET_WINDOW},
            )
            rows = cursor.fetchall()
        for episode_id, window, cut_start, cut_end, stems in rows:
            snippets[episode_id] = _marked_window(window, words=words, stems=stems, cut_start=cut_start, cut_end=cut_end)
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


def _python_snippet(text: str, query: str, *, width: int = 90) -> Snippet:
    """A window of `text` around the first query word, the words marked."""
    words = [re.escape(word) for word in query.split() if word.strip('"')]
    if not words:
        return ((text[: 2 * width], False),)
    pattern = re.compile("|".join(word.strip('"') for word in words), re.IGNORECASE)
    found = pattern.search(text)
    start = max(0, found.start() - width) if found else 0
    window = text[start : start + 2 * width + (found.end() - found.start() if found else 0)]
    marked = pattern.sub(lambda m: f"{_MARK_OPEN}{m.group(0)}{_MARK_CLOSE}", window)
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + len(window) < len(text) else ""
    return _snippet(prefix + marked + suffix)


# --- The curators' pipeline page (/admin/pipeline/) ---------------------------------

PIPELINE_LIST_LIMIT = 100


@dataclass(frozen=True, slots=True)
class PipelineRow:
    episode: Episode
    status: EpisodeStatus
    since: datetime | None


def pipeline_overview(*, now: datetime | None = None) -> dict:
    """Counts by stage, what runs now (with progress and since when), what failed (with
    the error), what waits (and why), and what was cancelled: one query each."""
    now = now or timezone.now()
    counts = dict(
        Episode.objects.values_list("pipeline_status").annotate(n=Count("id")).order_by().values_list("pipeline_status", "n")
    )
    columns = ["id", "title", "podcast_id", "podcast__title", "attempts", *STATUS_FIELDS]
    base = Episode.objects.select_related("podcast").only(*[c for c in columns if c != "podcast__title"], "podcast__title")

    def rows(queryset) -> list[PipelineRow]:
        return [
            PipelineRow(
                episode=episode,
                status=episode_status(*(getattr(episode, field) for field in STATUS_FIELDS), staff=True, now=now),
                since=episode.status_changed_at,
            )
            for episode in queryset[:PIPELINE_LIST_LIMIT]
        ]

    return {
        "counts": [(status.label, status.value, counts.get(status.value, 0)) for status in Episode.PipelineStatus],
        "running": rows(base.filter(pipeline_status__in=working_states()).order_by("status_changed_at")),
        "waiting": rows(base.filter(pipeline_status__in=ready_states()).order_by("retry_after", "status_changed_at")),
        "failed": rows(base.filter(pipeline_status=Episode.PipelineStatus.FAILED).order_by("-status_changed_at")),
        "cancelled": rows(base.filter(pipeline_status=Episode.PipelineStatus.CANCELLED).order_by("-status_changed_at")),
        "now": now,
    }
