"""The number of queries per page does not grow with the number of rows."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from podcasts.models import Profile, Transcript
from tests.factories import csrf_client, make_podcast, make_subscription, make_summarized_episode, make_user

pytestmark = pytest.mark.django_db

MAX_QUERIES = 12


def _count(client, url) -> int:
    cache.clear()  # count a search that ranks, not one answered from the search cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.fixture
def world(db):
    user = make_user(plan=Profile.Plan.PREMIUM)
    podcast = make_podcast("Counting")
    make_subscription(user, podcast)
    episode = make_summarized_episode(podcast, title="Counting sheep")

    def grow(n: int):
        for i in range(n):
            extra = make_podcast(f"Counting {i}")
            make_subscription(user, extra)
            make_summarized_episode(extra, title=f"Counting stars {i}")
            make_summarized_episode(podcast, title=f"Counting more {i}")
        Transcript.objects.filter(episode=episode).update(
            segments=[{"start": i, "end": i + 1, "text": f"line {i}"} for i in range(200)]
        )

    return user, podcast, episode, grow


def test_every_page_keeps_a_constant_number_of_queries(world, django_assert_max_num_queries):
    user, podcast, episode, grow = world
    client = csrf_client(user)
    anonymous = csrf_client()
    urls = ["/", "/podcasts/", podcast.get_absolute_url(), episode.get_absolute_url(), "/search/?q=counting", "/podcasts/submit/"]
    before = {url: _count(client, url) for url in urls}
    before_anonymous = {
        url: _count(anonymous, url) for url in ("/", "/podcasts/", episode.get_absolute_url(), "/search/?q=counting")
    }

    grow(25)

    after = {url: _count(client, url) for url in urls}
    after_anonymous = {url: _count(anonymous, url) for url in before_anonymous}
    assert after == before
    assert after_anonymous == before_anonymous
    for url in urls:
        with django_assert_max_num_queries(MAX_QUERIES):
            client.get(url)
