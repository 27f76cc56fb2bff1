"""Each hand-written SQL statement of the pages agrees with its ORM definition, on both databases.

The pages read through SQL written out (summaries.selectors) for speed; what they
may show is defined once in the ORM (podcasts.selectors.EPISODE_VISIBLE,
PODCAST_VISIBLE, summaries.selectors.summaries_visible). Every combination of the
states those definitions read is created, and each statement must pick exactly
the rows its definition picks.
"""

import itertools

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from podcasts.models import Episode, Podcast, Transcript
from podcasts.selectors import EPISODE_VISIBLE_SQL, PODCAST_VISIBLE_SQL, episodes_visible, podcasts_visible
from summaries import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_state():
    """An episode for each (podcast status, hidden) pair, each with a transcript."""
    episodes = []
    for n, (status, hidden) in enumerate(itertools.product(Podcast.Status.values, (False, True))):
        podcast = Podcast.objects.create(feed_url=f"https://feeds.example.com/{n}.xml", title=f"Podcast {n}", status=status)
        episode = Episode.objects.create(podcast=podcast, guid=f"guid-{n}", title=f"Episode {n}", hidden=hidden)
        Transcript.objects.create(episode=episode, source="whisper", segments=[{"start": 0, "end": 1, "text": "Hi."}], text="Hi.")
        episodes.append(episode)
    return episodes


def _ids(sql: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {row[0] for row in cursor.fetchall()}


def test_episode_visible_sql_is_episode_visible(every_state):
    by_sql = _ids(
        f"SELECT e.id FROM podcasts_episode e JOIN podcasts_podcast p ON p.id = e.podcast_id WHERE {EPISODE_VISIBLE_SQL}"
    )

    assert by_sql == set(episodes_visible().values_list("pk", flat=True))
    assert len(by_sql) == 1  # active and not hidden: the matrix holds exactly one


def test_podcast_visible_sql_is_podcast_visible(every_state):
    by_sql = _ids(f"SELECT p.id FROM podcasts_podcast p WHERE {PODCAST_VISIBLE_SQL}")

    assert by_sql == set(podcasts_visible().values_list("pk", flat=True))


def test_episode_page_sql_opens_exactly_the_visible_episodes(every_state):
    visible = set(episodes_visible().values_list("pk", flat=True))

    for episode in every_state:
        assert (selectors.episode_page(pk=episode.pk) is not None) == (episode.pk in visible)


def test_podcast_page_sql_opens_exactly_the_visible_podcasts(every_state):
    visible = set(podcasts_visible().values_list("pk", flat=True))

    for episode in every_state:
        found = selectors.podcast_page(pk=episode.podcast_id, user=AnonymousUser())
        assert (found is not None) == (episode.podcast_id in visible)


def test_card_sql_lists_exactly_the_visible_episodes(every_state):
    ids = [episode.pk for episode in every_state]

    assert {card.pk for card in selectors.cards_by_id(ids)} == set(episodes_visible().values_list("pk", flat=True))
    assert (
        len(selectors.podcast_episodes(podcast=every_state[0].podcast))
        == episodes_visible().filter(podcast=every_state[0].podcast).count()
    )


@pytest.mark.postgres_only
def test_search_sql_finds_only_visible_episodes(every_state, settings):
    settings.SEARCH_CACHE_SECONDS = 0
    Episode.objects.update(title="Tidal turbines")

    assert set(selectors.episode_search(query="turbines").ids) == set(episodes_visible().values_list("pk", flat=True))
