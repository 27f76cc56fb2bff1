"""podcasts.feeds: the safety check and the mapping of feedparser output to plain dicts."""

from datetime import UTC, datetime

import pytest

from podcasts.feeds import FeedRefused, check_xml, parse_duration, parse_feed, plain_text, sanitize_html

BASE = "https://feeds.example.com/show/feed.xml"


def rss(items: str, channel: str = "<title>Show</title>", prolog: bytes = b'<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    return (
        prolog
        + (
            '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
            ' xmlns:podcast="https://podcastindex.org/namespace/1.0"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel>{channel}{items}</channel></rss>"
        ).encode()
    )


def item(
    guid="g1",
    title="Episode",
    extra="",
    enclosure='<enclosure url="https://cdn.example.com/1.mp3" type="audio/mpeg" length="1000"/>',
):
    guid_xml = f'<guid isPermaLink="false">{guid}</guid>' if guid else ""
    return f"<item><title>{title}</title>{guid_xml}{enclosure}{extra}</item>"


# --- the safety check -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><title>&x;</title></channel></rss>',
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;">]><rss><channel><title>&c;</title></channel></rss>',
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://evil.example/rss.dtd"><rss><channel><title>x</title></channel></rss>',
        b'\xef\xbb\xbf\n\n<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><rss><channel><title>&x;</title></channel></rss>',
        b'<?xml version="1.0" encoding="x-unknown"?><!DOCTYPE r [<!ENTITY x "y">]><rss/>',
    ],
    ids=["xxe", "billion-laughs", "external-dtd", "bom-then-doctype", "undecodable-then-doctype"],
)
def test_doctype_and_entity_declarations_are_refused(body):
    with pytest.raises(FeedRefused, match="DOCTYPE or entities"):
        check_xml(body)


def test_stray_newline_and_bom_before_the_declaration_still_parse():
    body = b"\xef\xbb\xbf\n  \r\n" + rss(item())

    parsed = parse_feed(body, base_url=BASE)

    assert parsed["podcast"]["title"] == "Show"
    assert [e["guid"] for e in parsed["episodes"]] == ["g1"]


@pytest.mark.parametrize("cut", ["mid-tag", "after-an-item", "mid-text"])
def test_truncated_xml_is_refused(cut):
    """A body cut short (a partial download) is refused, even when it happens to end on a closing tag."""
    body = rss(item("a") + item("b"))
    ends = {
        "mid-tag": body[:-40],
        "after-an-item": body[: body.rindex(b"</item>") + len(b"</item>")],
        "mid-text": body[: body.rindex(b"Episode") + 3],
    }

    with pytest.raises(FeedRefused, match="truncated"):
        parse_feed(ends[cut], base_url=BASE)


@pytest.mark.parametrize(
    "body",
    [b"<!DOCTYPE html><html><head><title>Shop</title></head><body>hi</body></html>", b"<html><body><p>Nope</p></body></html>"],
)
def test_an_html_page_is_refused(body):
    with pytest.raises(FeedRefused, match="HTML page"):
        parse_feed(body, base_url=BASE)


@pytest.mark.parametrize("body", [b"", b"   \n", b'{"json": true}', b"plain text"])
def test_empty_and_non_xml_bodies_are_refused(body):
    with pytest.raises(FeedRefused):
        parse_feed(body, base_url=BASE)


def test_xml_that_is_not_a_feed_is_refused():
    with pytest.raises(FeedRefused, match="not an RSS or Atom feed"):
        parse_feed(b"<svg><text>hello</text></svg>", base_url=BASE)


def test_harmless_quirks_still_ingest():
    """Undeclared itunes: prefix, a bad date, a bare ampersand, HTML in the title: all ingest."""
    body = (
        b"<rss><channel><title>Q &amp; A</title><item><title>Hi <b>there</b></title>"
        b"<guid>q1</guid><pubDate>not a date</pubDate><itunes:duration>1:00</itunes:duration>"
        b'<enclosure url="https://cdn.example.com/q.mp3" type="audio/mpeg"/></item></channel></rss>'
    )

    parsed = parse_feed(body, base_url=BASE)

    [episode] = parsed["episodes"]
    assert parsed["podcast"]["title"] == "Q & A"
    assert episode["title"] == "Hi there"
    assert episode["published_at"] is None
    assert episode["duration_seconds"] == 60


# --- mapping ---------------------------------------------------------------------------------


def test_guid_falls_back_to_enclosure_url_then_a_hash_of_link_and_title():
    body = rss(
        item(guid="", title="A")
        + item(guid="", title="B", enclosure="", extra="<link>https://example.com/b</link>")
        + item(guid="", title="C", enclosure="", extra="<link>https://example.com/c</link>")
    )

    episodes = parse_feed(body, base_url=BASE)["episodes"]

    assert episodes[0]["guid"] == "https://cdn.example.com/1.mp3"
    assert episodes[1]["guid"].startswith("sha256:") and episodes[2]["guid"].startswith("sha256:")
    assert episodes[1]["guid"] != episodes[2]["guid"]
    assert parse_feed(body, base_url=BASE)["episodes"][1]["guid"] == episodes[1]["guid"]  # stable


def test_a_relative_permalink_guid_is_resolved_against_the_feed_url():
    """feedparser (and podcastparser) read a guid with isPermaLink unset as a URL; see docs/feeds.md."""
    body = rss("<item><title>P</title><guid>episode-7</guid><guid2/></item>")

    [episode] = parse_feed(body, base_url=BASE)["episodes"]

    assert episode["guid"] == "https://feeds.example.com/show/episode-7"


def test_duplicate_guids_in_one_feed_make_one_episode():
    parsed = parse_feed(rss(item(title="First") + item(title="Again")), base_url=BASE)

    assert [e["title"] for e in parsed["episodes"]] == ["First"]
    assert parsed["skipped"] == 1


def test_only_audio_enclosures_are_kept_and_the_best_is_picked():
    enclosures = (
        '<enclosure url="https://cdn.example.com/cover.jpg" type="image/jpeg"/>'
        '<enclosure url="https://cdn.example.com/video.mp4" type="video/mp4"/>'
        '<enclosure url="https://cdn.example.com/ep.ogg" type="audio/ogg" length="10"/>'
        '<enclosure url="https://cdn.example.com/ep.mp3" type="audio/mpeg" length="20"/>'
    )
    video_only = '<enclosure url="https://cdn.example.com/only.mp4" type="video/mp4"/>'
    untyped = '<enclosure url="relative/ep.m4a"/>'
    body = rss(item(guid="a", enclosure=enclosures) + item(guid="v", enclosure=video_only) + item(guid="u", enclosure=untyped))

    a, v, u = parse_feed(body, base_url=BASE)["episodes"]

    assert (a["enclosure_url"], a["enclosure_type"], a["enclosure_length"]) == (
        "https://cdn.example.com/ep.mp3",
        "audio/mpeg",
        20,
    )
    assert v["enclosure_url"] == ""
    assert u["enclosure_url"] == "https://feeds.example.com/show/relative/ep.m4a"
    assert u["enclosure_type"].startswith("audio/")


def test_non_http_enclosures_are_dropped():
    body = rss(item(enclosure='<enclosure url="file:///etc/passwd.mp3" type="audio/mpeg"/>'))

    [episode] = parse_feed(body, base_url=BASE)["episodes"]

    assert episode["enclosure_url"] == ""


def test_itunes_fields_are_captured():
    extra = (
        "<itunes:duration>01:02:03</itunes:duration><itunes:image href='https://img.example.com/e.jpg'/>"
        "<itunes:explicit>yes</itunes:explicit><itunes:episode>12</itunes:episode><itunes:season>3</itunes:season>"
        "<itunes:episodeType>Bonus</itunes:episodeType><pubDate>Tue, 04 Mar 2025 10:30:00 +0100</pubDate>"
    )
    channel = "<title>Show</title><itunes:type>serial</itunes:type><itunes:explicit>clean</itunes:explicit><itunes:image href='https://img.example.com/s.jpg'/><itunes:category text='Technology'/>"

    parsed = parse_feed(rss(item(extra=extra), channel=channel), base_url=BASE)

    [episode] = parsed["episodes"]
    assert episode["duration_seconds"] == 3723
    assert episode["image_url"] == "https://img.example.com/e.jpg"
    assert episode["explicit"] is True
    assert (episode["episode_number"], episode["season_number"], episode["episode_type"]) == (12, 3, "bonus")
    assert episode["published_at"] == datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    podcast = parsed["podcast"]
    assert (podcast["itunes_type"], podcast["explicit"], podcast["image_url"]) == (
        "serial",
        False,
        "https://img.example.com/s.jpg",
    )
    assert podcast["categories"] == ["Technology"]


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("3600", 3600),
        ("60:00", 3600),
        ("01:00:00", 3600),
        ("1:02:03.7", 3723),
        ("", None),
        ("abc", None),
        ("-5", None),
        ("1:2:3:4", None),
    ],
)
def test_durations(raw, seconds):
    assert parse_duration(raw) == seconds


def test_every_podcast_transcript_link_is_kept_with_its_type_and_the_best_is_chosen():
    extra = (
        '<podcast:transcript url="https://example.com/t.html" type="text/html"/>'
        '<podcast:transcript url="https://example.com/t.srt" type="application/x-subrip" language="en"/>'
        '<podcast:transcript url="https://example.com/t.vtt" type="text/vtt" rel="captions"/>'
    )

    [episode] = parse_feed(rss(item(extra=extra)), base_url=BASE)["episodes"]

    assert [(link["url"], link["type"]) for link in episode["transcript_links"]] == [
        ("https://example.com/t.html", "text/html"),
        ("https://example.com/t.srt", "application/x-subrip"),
        ("https://example.com/t.vtt", "text/vtt"),
    ]
    assert episode["transcript_links"][1]["language"] == "en"
    assert (episode["transcript_url"], episode["transcript_type"]) == ("https://example.com/t.vtt", "text/vtt")


def test_chapters_inline_and_linked():
    extra = (
        '<psc:chapters xmlns:psc="http://podlove.org/simple-chapters" version="1.2">'
        '<psc:chapter start="0" title="Intro"/><psc:chapter start="01:30.5" title="&lt;b&gt;Main&lt;/b&gt;" href="javascript:alert(1)"/>'
        "</psc:chapters>"
        '<podcast:chapters url="https://example.com/chapters.json" type="application/json+chapters"/>'
    )

    [episode] = parse_feed(rss(item(extra=extra)), base_url=BASE)["episodes"]

    assert episode["chapters"] == [{"start": 0, "title": "Intro"}, {"start": 90.5, "title": "Main"}]
    assert episode["chapters_url"] == "https://example.com/chapters.json"


def test_content_hash_changes_with_publisher_fields_only():
    first = parse_feed(rss(item()), base_url=BASE)["episodes"][0]
    same = parse_feed(rss(item(), channel="<title>Renamed show</title>"), base_url=BASE)["episodes"][0]
    renamed = parse_feed(rss(item(title="New title")), base_url=BASE)["episodes"][0]

    assert first["content_hash"] == same["content_hash"]
    assert first["content_hash"] != renamed["content_hash"]


# --- HTML -------------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    '<p style="background:url(javascript:alert(1))" onclick="alert(1)">x</p>',
]


@pytest.mark.parametrize("payload", XSS)
def test_sanitize_html_removes_active_content(payload):
    cleaned = sanitize_html(f"<p>Before</p>{payload}<p>After</p>").lower()

    for needle in ("<script", "onerror", "javascript:", "<svg", "onload", "<iframe", "onclick", "style=", "<img"):
        assert needle not in cleaned
    assert "before" in cleaned and "after" in cleaned


def test_links_keep_their_href_and_get_noopener_noreferrer():
    cleaned = sanitize_html('<a href="https://example.com/" target="_blank">site</a>')

    assert cleaned == '<a href="https://example.com/" rel="noopener noreferrer">site</a>'


@pytest.mark.parametrize("payload", XSS + ["&lt;script&gt;alert(1)&lt;/script&gt;", "&amp;lt;script&amp;gt;alert(1)"])
def test_plain_text_never_contains_markup(payload):
    text = plain_text(f"Title {payload} end")

    assert "<script" not in text and "<svg" not in text and "<iframe" not in text and "<img" not in text
    assert text.startswith("Title")


def test_relative_links_in_descriptions_are_resolved_against_the_feed():
    body = rss(item(extra="<description><![CDATA[<a href='notes/1.html'>notes</a>]]></description>"))

    [episode] = parse_feed(body, base_url=BASE)["episodes"]

    assert episode["description"] == '<a href="https://feeds.example.com/show/notes/1.html" rel="noopener noreferrer">notes</a>'


def test_nul_characters_never_reach_the_database():
    body = b'<rss><channel><title>A\x00B</title><item><title>T\x00itle</title><guid isPermaLink="false">g\x00</guid><description>d\x00</description></item></channel></rss>'

    parsed = parse_feed(body, base_url=BASE)

    for value in [
        parsed["podcast"]["title"],
        *(v for e in parsed["episodes"] for v in (e["title"], e["guid"], e["description"])),
    ]:
        assert "\x00" not in value


# --- text that reaches headers, file names and logs (issue 17, defect 1) ---------------------


def _no_controls(value: str) -> bool:
    return not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029" for ch in value)


def test_control_characters_are_stripped_from_guids_and_types():
    """A guid like "evil\\nBcc: victim" (empty title) becomes an email subject: every such text is one line."""
    enclosure = '<enclosure url="https://cdn.example.com/1.mp3" type="audio/mpeg&#10;Set-Cookie: x=1" length="1"/>'
    transcript = (
        '<podcast:transcript url="https://cdn.example.com/1.vtt" type="text/vtt&#10;X: y" language="en&#13;&#10;Bcc: z"/>'
    )
    body = rss(item(guid="evil-guid&#10;Bcc: victim@example.com&#x2028;x", title="", enclosure=enclosure, extra=transcript))

    (episode,) = parse_feed(body, base_url=BASE)["episodes"]

    assert episode["guid"] == "evil-guid Bcc: victim@example.com x"
    assert episode["enclosure_type"] == ""  # not a plain type/subtype: the audio view falls back to audio/mpeg
    link = episode["transcript_links"][0]
    assert (link["type"], link["language"]) == ("text/vtt x: y", "en Bcc: z")
    assert all(_no_controls(value) for value in (episode["guid"], *link.values()))


def test_raw_control_characters_in_a_loose_feed_are_stripped_from_titles():
    """Raw control bytes make the XML ill-formed; feedparser's loose parser still returns them."""
    body = rss(item(guid="g\x0b2", title="Two\x01\x1f\x7flines"))

    (episode,) = parse_feed(body, base_url=BASE)["episodes"]

    assert episode["title"] == "Two lines"
    assert episode["guid"] == "g 2"


# --- caps on items and fields (issue 17 risks) ------------------------------------------------


def test_items_past_the_cap_are_left_out_and_counted():
    body = rss("".join(item(guid=f"g{n}", title=f"E{n}") for n in range(50)))

    parsed = parse_feed(body, base_url=BASE, max_items=10)

    assert [e["guid"] for e in parsed["episodes"]] == [f"g{n}" for n in range(10)]
    assert parsed["cut"] == {"items": 40, "fields": 0}


def test_show_notes_past_the_byte_cap_are_cut_and_counted_and_stay_valid_html():
    notes = "<p>" + ("é" * 50_000) + "</p><p>" + ("x" * 200_000) + "</p>"
    body = rss(item(guid="big", extra=f"<description><![CDATA[{notes}]]></description>") + item(guid="small"))

    parsed = parse_feed(body, base_url=BASE, max_field_bytes=100_000)

    big, small = parsed["episodes"]
    assert len(big["description"].encode()) <= 100_000 + len("</p>")
    assert big["description"].startswith("<p>é") and big["description"].endswith("</p>")
    assert parsed["cut"] == {"items": 0, "fields": 1}
    assert "_cut" not in big


@pytest.mark.django_db
def test_the_cut_is_recorded_in_the_ingest_report_and_the_log(settings, caplog):
    from podcasts.models import Episode, Podcast
    from podcasts.services import podcast_ingest_bytes

    settings.FEED_MAX_ITEMS = 3
    podcast = Podcast.objects.create(feed_url=BASE, title="Show")
    body = rss("".join(item(guid=f"g{n}") for n in range(8)))

    report = podcast_ingest_bytes(podcast=podcast, body=body)

    assert Episode.objects.filter(podcast=podcast).count() == 3
    assert report.as_json()["cut"] == {"items": 5, "fields": 0}
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "feed_cut"]
    assert (record.podcast_id, record.items_cut, record.max_items) == (podcast.pk, 5, 3)
