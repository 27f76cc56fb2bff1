"""One podcast per feed however its URL is spelled (issue 17, defect 9): scheme and host
case, default ports and fragments are normalized before the uniqueness check, and
migration 0004 rewrites the rows stored before."""

import importlib

import pytest
from django.apps import apps

from curation.models import CurationItem
from podcasts.feeds import normalize_feed_url
from podcasts.models import Podcast
from podcasts.services import opml_import, podcast_add, podcast_submit
from tests.factories import make_user
from tests.support.httpserver import Route

pytestmark = pytest.mark.django_db

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Dup</title>
<item><title>One</title><guid>d1</guid><enclosure url="https://cdn.example.com/1.mp3" type="audio/mpeg"/></item>
</channel></rss>"""


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("HTTP://DUP.example/feed.xml", "http://dup.example/feed.xml"),
        ("http://dup.example:80/feed.xml#latest", "http://dup.example/feed.xml"),
        ("https://Dup.Example.:443/Feed.XML?Token=A", "https://dup.example/Feed.XML?Token=A"),
        ("https://dup.example:8443", "https://dup.example:8443/"),
        ("http://[2001:DB8::1]:80/f", "http://[2001:db8::1]/f"),
    ],
)
def test_normalize_feed_url(url, normalized):
    assert normalize_feed_url(url) == normalized


def test_adding_a_feed_under_two_spellings_makes_one_podcast(http_server):
    http_server.routes["/feed.xml"] = Route(FEED, headers={"Content-Type": "application/rss+xml"})
    lower = http_server.url("/feed.xml")
    upper = lower.replace("http://", "HTTP://") + "#top"

    first = podcast_add(feed_url=upper)
    second = podcast_add(feed_url=lower)

    assert first.podcast_id == second.podcast_id
    assert list(Podcast.objects.values_list("feed_url", flat=True)) == [lower]


def test_submitting_a_feed_twice_in_two_spellings_makes_one_inbox_item():
    user = make_user()

    first = podcast_submit(feed_url="HTTP://DUP.example/feed.xml", user=user)
    second = podcast_submit(feed_url="http://dup.example:80/feed.xml#x", user=user)

    assert first.pk == second.pk and first.feed_url == "http://dup.example/feed.xml"
    assert CurationItem.objects.filter(flag_class="feed_submission").count() == 1


def test_opml_import_normalizes_urls():
    opml = b"""<?xml version="1.0"?><opml version="2.0"><body>
    <outline type="rss" text="A" xmlUrl="HTTPS://Dup.Example:443/feed.xml"/>
    <outline type="rss" text="B" xmlUrl="https://dup.example/feed.xml#b"/></body></opml>"""

    report = opml_import(data=opml)

    assert len(report.added) == 1 and report.existing == 1
    assert list(Podcast.objects.values_list("feed_url", flat=True)) == ["https://dup.example/feed.xml"]


def test_the_migration_rewrites_old_rows_and_leaves_clashing_duplicates(capsys):
    migration = importlib.import_module("podcasts.migrations.0006_normalise_feed_urls")
    old = Podcast.objects.create(feed_url="HTTP://Old.example:80/feed.xml", title="Old")
    kept = Podcast.objects.create(feed_url="http://dup.example/feed.xml", title="Dup")
    clash = Podcast.objects.create(feed_url="HTTP://DUP.example/feed.xml", title="Dup again")

    migration.normalise_feed_urls(apps, None)
    migration.normalise_feed_urls(apps, None)  # a second run changes nothing

    urls = dict(Podcast.objects.values_list("pk", "feed_url"))
    assert urls == {
        old.pk: "http://old.example/feed.xml",
        kept.pk: "http://dup.example/feed.xml",
        clash.pk: "HTTP://DUP.example/feed.xml",
    }
    assert f"podcast {clash.pk}" in capsys.readouterr().out
