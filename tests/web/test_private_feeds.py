"""Private feeds (/feeds/<token>.xml): what a podcast app reads, parsed by feedparser and podcastparser."""

import io
import json
from http import HTTPStatus

import defusedxml.ElementTree as ET
import feedparser
import podcastparser
import pytest
from django.test import Client

from podcasts.models import Episode, Podcast
from podcasts.transcripts import parse_json, parse_srt, parse_vtt
from summaries import private_feeds
from summaries.models import Summary
from summaries.private_feeds import FEED_MAX_ITEMS
from summaries.tokens import feed_token_get_or_create, feed_token_rotate
from tests.web.factories import SEGMENTS, make_summary

pytestmark = pytest.mark.django_db

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
PODCAST_NS = "{https://podcastindex.org/namespace/1.0}"


@pytest.fixture
def listener(make_user, make_podcast, make_episode, subscribe):
    user = make_user("listener")
    podcast = make_podcast("Sea Power")
    subscribe(user, podcast)
    episode = make_episode(podcast, title="Tides", tldr="Tides turn turbines.", days_ago=2)
    token = feed_token_get_or_create(user=user).token
    return user, podcast, episode, token


def _get(url: str, **headers):
    return Client().get(url, **headers)


def _podcastparser(url: str, body: bytes) -> dict:
    return podcastparser.parse(url, io.BytesIO(body))


def test_feed_parses_in_feedparser_with_summary_chapters_and_transcripts(listener):
    user, podcast, episode, token = listener

    response = _get(f"/feeds/{token}.xml")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/rss+xml")
    parsed = feedparser.parse(io.BytesIO(response.content))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "My podcasts · Castnotes"
    [entry] = parsed.entries
    assert entry.title == "Tides"
    assert entry.id == f"castnotes:episode:{episode.pk}"
    html = entry.content[0].value
    assert "Tides turn turbines." in html and "Salt water wears bearings." in html
    assert "1:15 Bearings" in html  # chapters with times
    assert "Salt water is hard on the bearings." in html  # the quote
    assert entry.enclosures[0].href == episode.enclosure_url  # the original audio, never proxied
    assert entry.podcast_chapters["url"] == f"http://testserver/episodes/{episode.pk}/chapters.json"
    assert entry.podcast_chapters["type"] == "application/json+chapters"


def test_feed_parses_in_podcastparser_with_summary_chapters_and_transcript(listener):
    user, podcast, episode, token = listener
    url = f"http://testserver/feeds/{token}.xml"

    parsed = _podcastparser(url, _get(f"/feeds/{token}.xml").content)

    assert parsed["title"] == "My podcasts · Castnotes"
    [item] = parsed["episodes"]
    assert item["guid"] == f"castnotes:episode:{episode.pk}"
    assert "Tides turn turbines." in item["description_html"]
    assert item["enclosures"][0]["url"] == episode.enclosure_url
    assert item["chapters_json_url"] == f"http://testserver/episodes/{episode.pk}/chapters.json"
    assert [(c["start"], c["title"]) for c in item["chapters"]] == [(0, "Intro"), (75, "Bearings")]
    transcript_path = item["transcript_url"].removeprefix("http://testserver")
    assert transcript_path.startswith(f"/feeds/{token}/transcripts/{episode.pk}.")
    assert _get(transcript_path).status_code == HTTPStatus.OK


def test_every_transcript_link_serves_its_format_with_the_feed_token(listener):
    user, podcast, episode, token = listener
    root = ET.fromstring(_get(f"/feeds/{token}.xml").content)
    links = {el.get("type"): el.get("url") for el in root.iter(f"{PODCAST_NS}transcript")}
    assert set(links) == {"text/vtt", "application/x-subrip", "application/json"}
    parsers = {"text/vtt": parse_vtt, "application/x-subrip": parse_srt, "application/json": parse_json}

    for mime, url in links.items():
        response = _get(url.removeprefix("http://testserver"))

        assert response.status_code == HTTPStatus.OK
        assert response["Content-Type"].startswith(mime)
        segments = parsers[mime](response.content.decode())
        assert [s["text"] for s in segments] == [s["text"] for s in SEGMENTS]


def test_one_podcast_feed_has_its_own_title_and_only_its_episodes(listener, make_podcast, make_episode, subscribe):
    user, podcast, episode, token = listener
    other = make_podcast("Garden Talk")
    subscribe(user, other)
    make_episode(other, title="Compost")

    everything = feedparser.parse(io.BytesIO(_get(f"/feeds/{token}.xml").content))
    one = feedparser.parse(io.BytesIO(_get(f"/feeds/{token}/{podcast.pk}.xml").content))

    assert {e.title for e in everything.entries} == {"Tides", "Compost"}
    assert one.feed.title == "Sea Power · Castnotes"
    assert [e.title for e in one.entries] == ["Tides"]


def test_feed_lists_subscribed_visible_episodes_newest_first(listener, make_podcast, make_episode, subscribe):
    user, podcast, episode, token = listener
    newer = make_episode(podcast, title="Newer")
    hidden = make_episode(podcast, title="Hidden by a curator")
    Episode.objects.filter(pk=hidden.pk).update(hidden=True)
    make_episode(make_podcast("Not followed"), title="Elsewhere")
    pending = make_podcast("Pending", status=Podcast.Status.PENDING_APPROVAL)
    subscribe(user, pending)
    make_episode(pending, title="Awaiting approval")

    entries = feedparser.parse(io.BytesIO(_get(f"/feeds/{token}.xml").content)).entries

    assert [e.title for e in entries] == ["Newer", "Tides"]
    assert newer.published_at > episode.published_at


def test_feed_shows_only_the_current_visible_summary(listener):
    user, podcast, episode, token = listener
    Summary.objects.filter(episode=episode).update(editorial_status="hidden")
    make_summary(episode, editorial_status="candidate", tldr="An unreviewed candidate.")

    html = feedparser.parse(io.BytesIO(_get(f"/feeds/{token}.xml").content)).entries[0].content[0].value

    assert "Tides turn turbines." not in html and "An unreviewed candidate." not in html
    assert "No summary yet" in html


def test_markup_in_feed_text_and_llm_text_is_escaped_in_the_item_html(make_user, make_podcast, make_episode, subscribe):
    user = make_user()
    podcast = make_podcast("Tom & Jerry <i>Show</i>")
    subscribe(user, podcast)
    episode = make_episode(podcast, title="Cats & <b>dogs</b>", tldr='<img src=x onerror="alert(1)"> & more')
    Episode.objects.filter(pk=episode.pk).update(
        description="<p>Notes with <a href='https://e.example'>a link</a> &amp; <script>x()</script></p>"
    )
    summary = Summary.objects.get(episode=episode)
    summary.content = {
        **summary.content,
        "key_points": ["<script>alert(2)</script>", "b", "c"],
        "chapters": [{"title": "<em>Intro</em>", "start": 0}],
    }
    summary.save(update_fields=["content"])
    token = feed_token_get_or_create(user=user).token

    body = _get(f"/feeds/{token}.xml").content
    root = ET.fromstring(body)  # well-formed XML whatever the text held
    item = root.find("channel/item")
    html = item.find(CONTENT).text

    assert item.find("title").text == "Cats & <b>dogs</b>"  # feed text round-trips as text
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more" in html
    assert "<script>" not in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "&lt;em&gt;Intro&lt;/em&gt;" in html
    assert "<a href='https://e.example'>" not in html and "Notes with a link" in html  # show notes as plain text
    assert item.find("description").text == html
    assert feedparser.parse(io.BytesIO(body)).feed.title == "My podcasts · Castnotes"
    assert _podcastparser("http://testserver/f.xml", body)["episodes"][0]["title"] == "Cats & <b>dogs</b>"


@pytest.mark.parametrize(
    "path", ["/feeds/{token}.xml", "/feeds/{token}/{podcast}.xml", "/feeds/{token}/transcripts/{episode}.vtt"]
)
def test_wrong_rotated_and_unknown_tokens_are_the_same_plain_404(listener, path):
    user, podcast, episode, token = listener
    good = path.format(token=token, podcast=podcast.pk, episode=episode.pk)
    assert _get(good).status_code == HTTPStatus.OK

    wrong_verifier = token[:12] + ("0" if token[12] != "0" else "1") + token[13:]
    feed_token_rotate(user=user)
    responses = [_get(path.format(token=t, podcast=podcast.pk, episode=episode.pk)) for t in (token, wrong_verifier, "f" * 44)]

    assert {r.status_code for r in responses} == {HTTPStatus.NOT_FOUND}
    assert len({r.content for r in responses}) == 1  # nothing tells a rotated token from an unknown one
    rotated = feed_token_get_or_create(user=user).token
    assert rotated != token
    assert _get(path.format(token=rotated, podcast=podcast.pk, episode=episode.pk)).status_code == HTTPStatus.OK


def test_another_users_podcast_is_a_404_in_a_one_podcast_feed(listener, make_user, make_podcast, subscribe):
    user, podcast, episode, token = listener
    other_user = make_user()
    theirs = make_podcast("Theirs")
    subscribe(other_user, theirs)

    assert _get(f"/feeds/{token}/{theirs.pk}.xml").status_code == HTTPStatus.NOT_FOUND
    assert _get(f"/feeds/{feed_token_get_or_create(user=other_user).token}/{podcast.pk}.xml").status_code == HTTPStatus.NOT_FOUND


def test_an_inactive_users_feed_is_a_404(listener):
    user, podcast, episode, token = listener
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert _get(f"/feeds/{token}.xml").status_code == HTTPStatus.NOT_FOUND


def test_conditional_get_answers_304_until_the_feed_changes(listener, make_episode):
    user, podcast, episode, token = listener
    first = _get(f"/feeds/{token}.xml")
    assert first["ETag"] and first["Last-Modified"]
    assert "private" in first["Cache-Control"] and "max-age=300" in first["Cache-Control"]

    by_etag = _get(f"/feeds/{token}.xml", HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = _get(f"/feeds/{token}.xml", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    make_episode(podcast, title="A new one")
    changed = _get(f"/feeds/{token}.xml", HTTP_IF_NONE_MATCH=first["ETag"])

    assert by_etag.status_code == HTTPStatus.NOT_MODIFIED and by_etag.content == b""
    assert by_date.status_code == HTTPStatus.NOT_MODIFIED
    assert changed.status_code == HTTPStatus.OK and changed["ETag"] != first["ETag"]


def test_feed_is_read_in_a_fixed_number_of_queries(listener, make_episode, django_assert_max_num_queries):
    user, podcast, episode, token = listener
    for _ in range(5):
        make_episode(podcast)

    with django_assert_max_num_queries(4):
        response = _get(f"/feeds/{token}.xml")

    assert len(feedparser.parse(io.BytesIO(response.content)).entries) == 6


def test_feed_stops_at_its_item_limit_newest_first(listener, make_episode, monkeypatch):
    user, podcast, episode, token = listener
    newest = [make_episode(podcast, title=f"New {n}", summary_version=None, transcript=False) for n in range(3)]
    monkeypatch.setattr(private_feeds, "FEED_MAX_ITEMS", 2)

    entries = feedparser.parse(io.BytesIO(_get(f"/feeds/{token}.xml").content)).entries

    assert [e.title for e in entries] == [newest[0].title, newest[1].title]  # each made a minute older
    assert private_feeds.FEED_MAX_ITEMS == 2 and 50 <= FEED_MAX_ITEMS <= 500


def test_json_transcript_is_the_podcasting_2_0_format(listener):
    user, podcast, episode, token = listener

    document = json.loads(_get(f"/feeds/{token}/transcripts/{episode.pk}.json").content)

    assert document["version"] == "1.0.0"
    assert document["segments"][0] == {"startTime": 0.0, "endTime": 4.0, "body": SEGMENTS[0]["text"]}


def test_an_episode_without_chapters_points_at_the_publishers_chapters_file(make_user, make_podcast, make_episode, subscribe):
    user = make_user()
    podcast = make_podcast()
    subscribe(user, podcast)
    episode = make_episode(podcast, summary_version=None)
    Episode.objects.filter(pk=episode.pk).update(chapters_url="https://publisher.example.com/1/chapters.json")
    bare = make_episode(podcast, summary_version=None)
    token = feed_token_get_or_create(user=user).token

    items = {
        item["guid"]: item for item in _podcastparser("http://testserver/f.xml", _get(f"/feeds/{token}.xml").content)["episodes"]
    }

    assert items[f"castnotes:episode:{episode.pk}"]["chapters_json_url"] == "https://publisher.example.com/1/chapters.json"
    assert "chapters_json_url" not in items[f"castnotes:episode:{bare.pk}"]
