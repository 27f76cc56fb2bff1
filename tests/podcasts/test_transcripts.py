import json

import pytest

from podcasts.transcripts import (
    TranscriptParseError,
    detect_format,
    export_srt,
    export_txt,
    export_vtt,
    parse_srt,
    parse_transcript,
    parse_vtt,
)

VTT = """WEBVTT
Kind: captions

NOTE a comment block

1
00:00:00.500 --> 00:00:04.000
<v Alice>Welcome to the show &amp; thanks for listening.

00:00:04.000 --> 00:01:02.250 align:start
Today: <b>bees</b>
on rooftops.
"""

SRT = """1
00:00:00,500 --> 00:00:04,000
Welcome to the show.

2
00:00:04,000 --> 01:00:02,250
Today: bees on rooftops.
"""

P20_JSON = json.dumps(
    {
        "version": "1.0.0",
        "segments": [
            {"speaker": "Alice", "startTime": 0.5, "endTime": 4.0, "body": "Welcome to the show."},
            {"startTime": 4.0, "endTime": 62.25, "body": "Today: bees on rooftops."},
        ],
    }
)


def test_vtt_cues_become_segments_with_speaker_and_plain_text():
    segments = parse_transcript(VTT.encode(), "vtt")

    assert segments == [
        {"start": 0.5, "end": 4.0, "text": "Welcome to the show & thanks for listening.", "speaker": "Alice"},
        {"start": 4.0, "end": 62.25, "text": "Today: bees on rooftops."},
    ]


def test_srt_cues_become_segments_with_hours():
    segments = parse_transcript(SRT.encode("utf-8-sig"), "srt")

    assert segments[1] == {"start": 4.0, "end": 3602.25, "text": "Today: bees on rooftops."}


def test_podcasting20_json_segments_are_read():
    segments = parse_transcript(P20_JSON.encode(), "json")

    assert segments[0] == {"start": 0.5, "end": 4.0, "text": "Welcome to the show.", "speaker": "Alice"}
    assert segments[1]["end"] == 62.25


def test_word_level_json_is_merged_into_sentences():
    words = "the bees come home before dark . then the keeper closes the hive . and the city sleeps".split()
    doc = {"segments": [{"startTime": i * 0.3, "endTime": i * 0.3 + 0.25, "body": w} for i, w in enumerate(words)]}

    segments = parse_transcript(json.dumps(doc).encode(), "json")

    assert [s["text"] for s in segments] == [
        "the bees come home before dark .",
        "then the keeper closes the hive .",
        "and the city sleeps",
    ]


@pytest.mark.parametrize("fmt", ["vtt", "srt", "json"])
def test_an_html_page_is_not_a_transcript(fmt):
    with pytest.raises(TranscriptParseError, match="HTML"):
        parse_transcript(b"<!DOCTYPE html><html><body>Sign in to read</body></html>", fmt)


@pytest.mark.parametrize(
    ("body", "fmt", "message"),
    [
        (b'{"segments": [', "json", "Invalid JSON"),
        (b'{"segments": [{"body": "no times"}]}', "json", "startTime"),
        (b'{"version": "1.0.0"}', "json", "no segments"),
        (b"Hello, this is just text.", "vtt", "WEBVTT"),
        (b"WEBVTT\n\nno cues here\n", "vtt", "no cues"),
        (b"1\nnot a timing line\nhello\n", "srt", "no timed cues"),
        (b"\xff\xfe\x00garbage", "srt", "UTF-8"),
    ],
)
def test_malformed_transcripts_are_refused(body, fmt, message):
    with pytest.raises(TranscriptParseError, match=message):
        parse_transcript(body, fmt)


@pytest.mark.parametrize(
    ("declared", "url", "expected"),
    [
        ("text/vtt", "https://x/t", "vtt"),
        ("application/json", "https://x/t", "json"),
        ("application/x-subrip", "https://x/t", "srt"),
        ("application/srt", "https://x/t", "srt"),
        ("", "https://x/t.srt?v=1", "srt"),
        ("text/html", "https://x/t.vtt", None),
        ("", "https://x/transcript", None),
    ],
)
def test_format_comes_from_type_then_extension(declared, url, expected):
    assert detect_format(declared_type=declared, url=url) == expected


SEGMENTS = [
    {"start": 0.0, "end": 1.5, "text": "First <line> & more"},
    {"start": 3661.25, "end": 3662.0, "text": "A cue with --> inside\nand a newline"},
]


def test_vtt_export_parses_back_to_the_same_segments():
    exported = export_vtt(SEGMENTS)

    assert exported.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n")
    assert [(s["start"], s["end"], s["text"]) for s in parse_vtt(exported)] == [
        (0.0, 1.5, "First <line> & more"),
        (3661.25, 3662.0, "A cue with -> inside and a newline"),
    ]


def test_srt_export_numbers_cues_and_parses_back():
    exported = export_srt(SEGMENTS)

    assert exported.splitlines()[:2] == ["1", "00:00:00,000 --> 00:00:01,500"]
    assert [s["start"] for s in parse_srt(exported)] == [0.0, 3661.25]


def test_txt_export_has_one_timestamped_line_per_segment():
    assert export_txt(SEGMENTS) == "[00:00:00] First <line> & more\n[01:01:01] A cue with -> inside and a newline\n"


# --- impossible times (issue 17, defect 5) ----------------------------------------------------


def _p20(start, end) -> bytes:
    return f'{{"segments": [{{"startTime": 0, "endTime": 1, "body": "ok"}}, {{"startTime": {start}, "endTime": {end}, "body": "bad"}}]}}'.encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_p20(1, "1e308"), "impossible end time"),
        (_p20('"nan"', '"nan"'), "impossible start time nan"),
        (_p20("NaN", 2), "non-finite number"),
        (_p20(1, "Infinity"), "non-finite number"),
        (_p20(1, '"1e400"'), "impossible end time inf"),
        (_p20(-5, 2), "impossible start time"),
        (_p20(9, 3), "segment 2: ends before it starts"),
        (_p20(1, 700000), "must be 0 to 604800"),
    ],
)
def test_json_transcripts_with_non_finite_or_absurd_times_are_refused_with_a_reason(body, reason):
    with pytest.raises(TranscriptParseError, match=reason):
        parse_transcript(body, "json")


@pytest.mark.parametrize("fmt", ["vtt", "srt"])
def test_cue_hours_past_a_week_are_refused(fmt):
    timing = "999999:00:00.000 --> 999999:00:01.000" if fmt == "vtt" else "999999:00:00,000 --> 999999:00:01,000"
    body = (("WEBVTT\n\n" if fmt == "vtt" else "1\n") + f"{timing}\nhello\n").encode()

    with pytest.raises(TranscriptParseError, match="impossible start time"):
        parse_transcript(body, fmt)


def test_exports_of_rows_stored_before_the_check_still_render():
    segments = [{"start": 0.0, "end": 1e308, "text": "a"}, {"start": float("nan"), "end": float("inf"), "text": "b"}]

    for export in (export_vtt, export_srt, export_txt):
        assert "a" in export(segments)


@pytest.mark.django_db
def test_a_publisher_transcript_with_nan_times_is_unusable_so_the_episode_falls_back_to_whisper(http_server):
    """Before: "nan" reached the database (SQLite's JSON check raised; the pipeline then
    failed the episode with a P0). Now the fetch reports why and offers no transcript."""
    from podcasts.models import Episode, Podcast
    from podcasts.transcripts import publisher_transcript_fetch
    from tests.support.httpserver import Route

    http_server.routes["/t.json"] = Route(_p20('"nan"', '"nan"'), headers={"Content-Type": "application/json"})
    podcast = Podcast.objects.create(feed_url=http_server.url("/feed.xml"), title="Show")
    episode = Episode.objects.create(
        podcast=podcast, guid="g", transcript_url=http_server.url("/t.json"), transcript_type="application/json"
    )

    transcript, why = publisher_transcript_fetch(episode)

    assert transcript is None
    assert "impossible start time nan" in why
