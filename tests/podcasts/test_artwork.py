"""Podcast artwork: fetched through the one fetcher, size-capped, kept only when its own
bytes are PNG/JPEG/WebP/GIF, and served locally with that type and nosniff."""

from http import HTTPStatus

import pytest
from django.test import Client

from podcasts.models import Podcast
from podcasts.services import podcast_add
from tests.support.httpserver import Route

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)
FEED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>Pictures FM</title><itunes:image href="/art.png"/>
<item><title>One</title><guid>one</guid></item>
</channel></rss>"""


@pytest.fixture
def feed(http_server, media_root):
    http_server.routes["/feed.xml"] = Route(FEED, headers={"Content-Type": "application/rss+xml"})
    return http_server


@pytest.mark.django_db
def test_feed_artwork_is_cached_and_served_locally_with_its_sniffed_type(feed):
    feed.routes["/art.png"] = Route(PNG, headers={"Content-Type": "text/html"})  # the server's type is not trusted

    report = podcast_add(feed_url=feed.url("/feed.xml"))
    podcast = Podcast.objects.get(pk=report.podcast_id)
    response = Client().get(f"/podcasts/{podcast.pk}/artwork")
    page = Client().get(podcast.get_absolute_url()).content.decode()

    assert (podcast.artwork_type, podcast.artwork_path) == ("image/png", f"artwork/{podcast.pk}.png")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG
    assert f'src="/podcasts/{podcast.pk}/artwork"' in page


@pytest.mark.django_db
def test_artwork_is_fetched_once_while_its_url_is_unchanged(feed):
    feed.routes["/art.png"] = Route(PNG, headers={"Content-Type": "image/png"})
    report = podcast_add(feed_url=feed.url("/feed.xml"))

    podcast_add(feed_url=feed.url("/feed.xml"))  # a refresh of the known feed

    assert [r.path for r in feed.requests].count("/art.png") == 1
    assert Podcast.objects.get(pk=report.podcast_id).artwork_type == "image/png"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", b"<html><script>alert(1)</script></html>"],
)
def test_script_carrying_artwork_is_refused_and_nothing_is_served(feed, body):
    feed.routes["/art.png"] = Route(body, headers={"Content-Type": "image/png"})

    report = podcast_add(feed_url=feed.url("/feed.xml"))

    podcast = Podcast.objects.get(pk=report.podcast_id)
    assert report.ok and podcast.artwork_path == ""
    assert Client().get(f"/podcasts/{podcast.pk}/artwork").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_artwork_over_the_size_cap_is_not_kept(feed, settings):
    settings.ARTWORK_MAX_BYTES = 1024
    feed.routes["/art.png"] = Route(PNG + b"\x00" * 4096, headers={"Content-Type": "image/png"})

    report = podcast_add(feed_url=feed.url("/feed.xml"))

    assert report.ok and Podcast.objects.get(pk=report.podcast_id).artwork_path == ""
