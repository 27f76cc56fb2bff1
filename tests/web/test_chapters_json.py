"""/episodes/<id>/chapters.json: Podcasting 2.0 JSON Chapters from the summary or the publisher."""

import json
from http import HTTPStatus

import jsonschema
import pytest
from django.test import Client

from podcasts.models import Episode, Podcast
from summaries.chapters import Chapter, ad_break_chapters, chapters_document, episode_chapters
from summaries.models import Summary

pytestmark = pytest.mark.django_db

# The field rules of the JSON Chapters format 1.2.0 (podcast-namespace docs/jsonChapters.md):
# version and chapters are required; each chapter needs a numeric startTime (seconds);
# title, img, url are strings, toc a boolean, endTime a number; location {name, geo}.
JSON_CHAPTERS_SCHEMA = {
    "type": "object",
    "required": ["version", "chapters"],
    "properties": {
        "version": {"type": "string", "pattern": r"^1\.2(\.\d+)?$"},
        "author": {"type": "string"},
        "title": {"type": "string"},
        "podcastName": {"type": "string"},
        "description": {"type": "string"},
        "fileName": {"type": "string"},
        "waypoints": {"type": "boolean"},
        "chapters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["startTime"],
                "properties": {
                    "startTime": {"type": "number", "minimum": 0},
                    "endTime": {"type": "number", "minimum": 0},
                    "title": {"type": "string"},
                    "img": {"type": "string"},
                    "url": {"type": "string"},
                    "toc": {"type": "boolean"},
                    "location": {
                        "type": "object",
                        "required": ["name", "geo"],
                        "properties": {"name": {"type": "string"}, "geo": {"type": "string"}, "osm": {"type": "string"}},
                    },
                },
            },
        },
    },
}


def _chapters(episode_id: int):
    return Client().get(f"/episodes/{episode_id}/chapters.json")


def _validate(document: dict) -> None:
    jsonschema.validate(document, JSON_CHAPTERS_SCHEMA)
    starts = [chapter["startTime"] for chapter in document["chapters"]]
    assert starts == sorted(starts), "chapters must be ordered by startTime"


def test_summary_chapters_as_json_chapters(make_podcast, make_episode):
    episode = make_episode(make_podcast("Sea Power"), title="Tides")

    response = _chapters(episode.pk)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json+chapters"
    document = json.loads(response.content)
    _validate(document)
    assert document == {
        "version": "1.2.0",
        "chapters": [{"startTime": 0, "title": "Intro"}, {"startTime": 75, "title": "Bearings"}],
        "title": "Tides",
        "podcastName": "Sea Power",
    }


def test_publisher_chapters_are_used_when_the_summary_has_none(make_podcast, make_episode):
    episode = make_episode(make_podcast())
    Episode.objects.filter(pk=episode.pk).update(
        chapters=[{"start": 12.5, "title": "Cold open"}, {"start": 0, "title": "Theme"}, {"start": "bad", "title": "x"}]
    )
    summary = Summary.objects.get(episode=episode)
    summary.content = {**summary.content, "chapters": []}
    summary.save(update_fields=["content"])

    document = json.loads(_chapters(episode.pk).content)

    _validate(document)
    assert document["chapters"] == [{"startTime": 0, "title": "Theme"}, {"startTime": 12.5, "title": "Cold open"}]


def test_summary_chapters_win_over_the_publishers(make_podcast, make_episode):
    episode = make_episode(make_podcast())
    Episode.objects.filter(pk=episode.pk).update(chapters=[{"start": 3, "title": "Publisher's"}])

    titles = [c["title"] for c in json.loads(_chapters(episode.pk).content)["chapters"]]

    assert titles == ["Intro", "Bearings"]


def test_an_episode_without_a_summary_falls_back_to_publisher_chapters(make_podcast, make_episode):
    episode = make_episode(make_podcast(), summary_version=None)
    Episode.objects.filter(pk=episode.pk).update(chapters=[{"start": 0, "title": "Only chapter"}])

    document = json.loads(_chapters(episode.pk).content)

    _validate(document)
    assert document["chapters"] == [{"startTime": 0, "title": "Only chapter"}]


def test_ad_breaks_are_toc_false_chapters_in_the_document(make_podcast, make_episode):
    episode = make_episode(make_podcast())
    chapters = [Chapter(start=0, title="Intro"), Chapter(start=30.25, title="Sponsor", toc=False, source="ads")]

    document = chapters_document(episode=episode, chapters=chapters)

    _validate(document)
    assert document["chapters"][1] == {"startTime": 30.25, "title": "Sponsor", "toc": False}
    # No sponsor spans exist yet (podcasts.AdSpan is not there): no ad breaks are invented.
    assert ad_break_chapters(episode_id=episode.pk) == []
    assert all(c.toc for c in episode_chapters(episode=episode, summary=Summary.objects.get(episode=episode)))


@pytest.mark.parametrize("change", ["hidden", "pending_podcast", "missing"])
def test_chapters_of_an_invisible_episode_are_a_404(make_podcast, make_episode, change):
    episode = make_episode(make_podcast())
    if change == "hidden":
        Episode.objects.filter(pk=episode.pk).update(hidden=True)
    elif change == "pending_podcast":
        Podcast.objects.filter(pk=episode.podcast_id).update(status=Podcast.Status.PENDING_APPROVAL)
    else:
        episode.delete()

    assert _chapters(episode.pk).status_code == HTTPStatus.NOT_FOUND


def test_chapters_of_a_hidden_summary_are_not_served(make_podcast, make_episode):
    episode = make_episode(make_podcast())
    Summary.objects.filter(episode=episode).update(editorial_status="hidden")

    assert json.loads(_chapters(episode.pk).content)["chapters"] == []


def test_chapters_answer_conditional_gets(make_podcast, make_episode):
    episode = make_episode(make_podcast())
    first = _chapters(episode.pk)

    again = Client().get(f"/episodes/{episode.pk}/chapters.json", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == HTTPStatus.NOT_MODIFIED
    assert "max-age=300" in first["Cache-Control"]
