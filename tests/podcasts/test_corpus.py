"""gPodder's podcastparser corpus, ingested for real over loopback HTTP.

Every feed must ingest (none is refused). Titles, guids, enclosures, durations,
chapters and transcript links must match podcastparser's expected JSON, except
for the differences listed in KNOWN_DIFFERENCES, each explained in docs/feeds.md.
The comparison is exact both ways: a difference not listed fails, and a listed
difference that no longer occurs fails too.
"""

import json
from pathlib import Path

import pytest

from podcasts.feeds import _is_audio
from podcasts.models import Episode, Podcast
from podcasts.services import podcast_add
from tests.support.httpserver import Route

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "podcastparser"
FEEDS = sorted(path.stem for path in CORPUS.glob("*.rss"))

# (feed, what differs) → why, in one line; docs/feeds.md has the longer story.
KNOWN_DIFFERENCES = {
    ("no_guid", "guid"): "no guid: Castnotes falls back to the enclosure URL, podcastparser to the link",
    ("no_guid", "title"): "no title: Castnotes keeps it empty, podcastparser invents one from the file name",
    ("no_title", "title"): "no title: Castnotes keeps it empty, podcastparser invents one from the file name",
    ("no_title_multi_enclosure", "extra_episodes"): "an item with audio but no title is kept, podcastparser drops it",
    ("no_enclosure", "extra_episodes"): "an item without audio is kept (pipeline status skipped), podcastparser drops it",
    ("max_episodes", "extra_episodes"): "podcastparser's max_episodes parameter; Castnotes ingests every item",
    ("media_episode_thumbnail_atom", "guid"): "feedparser resolves a relative Atom id against the feed URL",
    ("media_episode_thumbnail_atom_group", "guid"): "feedparser resolves a relative Atom id against the feed URL",
}


def _local(value, base: str):
    """podcastparser parsed these as files under file://tests/data/; here they are served over HTTP."""
    if isinstance(value, str):
        return value.replace("file://tests/data/", base)
    return value


def _compare(name: str, expected: dict, podcast: Podcast, base: str) -> set[tuple[str, str]]:
    differences: set[tuple[str, str]] = set()
    episodes = {episode.guid: episode for episode in podcast.episodes.all()}
    if expected.get("title") and expected["title"] != name and podcast.title != expected["title"]:
        differences.add((name, "podcast_title"))
    matched = set()
    for index, want in enumerate(expected["episodes"]):
        guid = _local(want["guid"], base)
        episode = episodes.get(guid)
        if episode is None:
            # Find it by position instead, and record that the guid differs.
            ordered = sorted(episodes.values(), key=lambda e: e.pk)
            if index >= len(ordered):
                differences.add((name, "missing_episode"))
                continue
            episode = ordered[index]
            differences.add((name, "guid"))
        matched.add(episode.guid)
        if episode.title != want["title"]:
            differences.add((name, "title"))
        audio_urls = [
            _local(enc["url"], base)
            for enc in want.get("enclosures", [])
            if _is_audio(enc.get("mime_type", ""), _local(enc["url"], base))[0]
        ]
        if (episode.enclosure_url or None) != (audio_urls[0] if audio_urls else None):
            differences.add((name, "enclosure"))
        if (episode.duration_seconds or 0) != want.get("total_time", 0):
            differences.add((name, "duration"))
        want_chapters = [{k: _local(v, base) for k, v in chapter.items()} for chapter in want.get("chapters", [])]
        got_chapters = [{**chapter, "start": int(chapter["start"])} for chapter in episode.chapters]
        if got_chapters != want_chapters:
            differences.add((name, "chapters"))
        if episode.transcript_url != want.get("transcript_url", ""):
            differences.add((name, "transcript"))
        if episode.chapters_url != want.get("chapters_json_url", ""):
            differences.add((name, "chapters_url"))
        if "number" in want and episode.episode_number != want["number"]:
            differences.add((name, "episode_number"))
        if "season" in want and episode.season_number != want["season"]:
            differences.add((name, "season_number"))
        if episode.episode_type != want.get("type", "full"):
            differences.add((name, "episode_type"))
        if "episode_art_url" in want and episode.image_url != want["episode_art_url"]:
            differences.add((name, "image"))
    if set(episodes) - matched:
        differences.add((name, "extra_episodes"))
    return differences


@pytest.mark.django_db
@pytest.mark.parametrize("name", FEEDS)
def test_corpus_feed_ingests_and_matches_podcastparser(http_server, name):
    """Each corpus feed is ingested over HTTP and matches podcastparser's parse, bar documented differences."""
    path = f"/tests/data/{name}"
    http_server.routes[path] = Route((CORPUS / f"{name}.rss").read_bytes(), headers={"Content-Type": "application/rss+xml"})
    expected = json.loads((CORPUS / f"{name}.json").read_text())
    base = http_server.url("/tests/data/")

    report = podcast_add(feed_url=http_server.url(path))

    assert report.ok, report.error
    podcast = Podcast.objects.get(pk=report.podcast_id)
    found = _compare(name, expected, podcast, base)
    known = {key for key in KNOWN_DIFFERENCES if key[0] == name}
    assert found == known


@pytest.mark.django_db
def test_corpus_items_without_audio_are_stored_as_skipped(http_server):
    """An item with no audio enclosure is kept for its text but never enters the pipeline."""
    http_server.routes["/tests/data/no_enclosure"] = Route((CORPUS / "no_enclosure.rss").read_bytes())

    report = podcast_add(feed_url=http_server.url("/tests/data/no_enclosure"))

    statuses = dict(Episode.objects.filter(podcast_id=report.podcast_id).values_list("title", "pipeline_status"))
    assert statuses == {"A": "new", "B": "skipped", "C": "new"}
    assert sorted(report.new_episode_ids) == sorted(
        Episode.objects.filter(podcast_id=report.podcast_id, title__in=["A", "C"]).values_list("pk", flat=True)
    )


def test_corpus_has_its_license_and_attribution():
    assert "Thomas Perl" in (CORPUS / "LICENSE").read_text()
    assert "github.com/gpodder/podcastparser" in (CORPUS / "README.md").read_text()
    assert len(FEEDS) == 70
