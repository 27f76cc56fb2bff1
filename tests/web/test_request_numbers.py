"""Numbers parsed from a request are bounded before use (issue 17, defect 4): a page number
too large for SQLite's integers (or PostgreSQL's bigint), a Range header with thousands of
digits (past Python's int-string limit), ids past any column. Runs on both databases."""

from http import HTTPStatus

import pytest
from django.test import Client

from podcasts.models import Episode
from tests.factories import make_podcast, make_subscription, make_summarized_episode, make_user

pytestmark = pytest.mark.django_db

HUGE_PAGES = ["461168601842738792", "9" * 40, "-461168601842738792", "1e9", "٣", "0x10", " 2 ", "NaN"]


@pytest.fixture
def listing(db):
    user = make_user()
    podcast = make_podcast("Deep Sea")
    make_subscription(user, podcast)
    for n in range(3):
        make_summarized_episode(podcast, title=f"Dive {n}", days_ago=n)
    client = Client()
    client.force_login(user)
    return client, podcast


@pytest.mark.parametrize("page", HUGE_PAGES)
def test_out_of_range_page_numbers_show_a_page_not_a_500(listing, page):
    client, podcast = listing

    responses = {
        "home": client.get("/", {"page": page}),
        "podcast": client.get(f"/podcasts/{podcast.pk}/", {"page": page}),
        "directory": client.get("/podcasts/", {"page": page}),
        "search": client.get("/search/", {"q": "dive", "page": page}),
        "landing": Client().get("/", {"page": page}),
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, HTTPStatus.OK)
    assert "Dive 0" in responses["home"].content.decode()  # the first or the last page, never an empty one


@pytest.mark.parametrize("pk", ["9" * 30, "461168601842738792"])
def test_ids_past_any_column_are_404(client, pk):
    assert client.get(f"/episodes/{pk}/").status_code == HTTPStatus.NOT_FOUND
    assert client.get(f"/podcasts/{pk}/").status_code == HTTPStatus.NOT_FOUND
    assert client.get(f"/episodes/{pk}/audio").status_code == HTTPStatus.NOT_FOUND


@pytest.fixture
def cached_audio(db, media_root):
    (media_root / "a.mp3").write_bytes(b"\x00" * 1000)
    return Episode.objects.create(
        podcast=make_podcast("Audio"), guid="a1", title="A", audio_path="a.mp3", enclosure_type="audio/mpeg"
    )


@pytest.mark.parametrize(
    "header",
    [
        "bytes=-" + "9" * 4300,
        "bytes=" + "1" * 4300 + "-",
        "bytes=0-" + "9" * 4300,
        "bytes=-99999999999999999999",
        "bytes=" + "9" * 25 + "-",
    ],
)
def test_range_headers_with_huge_numbers_are_unsatisfiable_not_a_500(client, cached_audio, header):
    response = client.get(f"/episodes/{cached_audio.pk}/audio", HTTP_RANGE=header)

    assert response.status_code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE
    assert response["Content-Range"] == "bytes */1000"


def test_a_large_but_sane_suffix_range_still_serves_the_whole_file(client, cached_audio):
    response = client.get(f"/episodes/{cached_audio.pk}/audio", HTTP_RANGE="bytes=-999999999999")

    assert response.status_code == HTTPStatus.PARTIAL_CONTENT
    assert response["Content-Range"] == "bytes 0-999/1000"
