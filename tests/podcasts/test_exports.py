"""Transcript exports for signed-in users: /episodes/<id>/transcript.{vtt,srt,json,txt}."""

import json
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from podcasts.models import Episode, Podcast, Transcript
from podcasts.transcripts import parse_srt, parse_vtt
from tests.factories import make_episode

pytestmark = pytest.mark.django_db

SEGMENTS = [
    {"start": 0.0, "end": 2.5, "text": "Welcome to <Field Notes> & friends.", "avg_logprob": -0.2, "no_speech_prob": 0.01},
    {"start": 2.5, "end": 61.0, "text": "Today: bees.", "avg_logprob": -0.3, "no_speech_prob": 0.02},
]


@pytest.fixture
def episode(podcast):
    episode = make_episode(podcast, pipeline_status=Episode.PipelineStatus.TRANSCRIBED)
    Transcript.objects.create(
        episode=episode,
        source="whisper",
        language="en",
        duration=61.0,
        segments=SEGMENTS,
        text=" ".join(s["text"] for s in SEGMENTS),
        model="tiny.en",
        wall_seconds=4.2,
    )
    return episode


@pytest.fixture
def client_signed_in():
    user = get_user_model().objects.create_user("reader")  # no password: force_login needs none, and hashing is slow
    client = Client()
    client.force_login(user)
    return client


def test_vtt_export_is_webvtt_that_parses_back(episode, client_signed_in):
    response = client_signed_in.get(f"/episodes/{episode.pk}/transcript.vtt")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/vtt; charset=utf-8"
    assert response["Content-Disposition"] == f'inline; filename="episode-{episode.pk}-transcript.vtt"'
    assert [s["text"] for s in parse_vtt(response.content.decode())] == ["Welcome to <Field Notes> & friends.", "Today: bees."]


def test_srt_export(episode, client_signed_in):
    response = client_signed_in.get(f"/episodes/{episode.pk}/transcript.srt")

    assert response["Content-Type"] == "application/x-subrip; charset=utf-8"
    body = response.content.decode()
    assert body.startswith("1\n00:00:00,000 --> 00:00:02,500\nWelcome to <Field Notes> & friends.\n")
    assert [s["end"] for s in parse_srt(body)] == [2.5, 61.0]


def test_json_export_has_the_transcribe_keys(episode, client_signed_in):
    data = json.loads(client_signed_in.get(f"/episodes/{episode.pk}/transcript.json").content)

    assert data["segments"] == [
        {"start": 0.0, "end": 2.5, "text": "Welcome to <Field Notes> & friends."},
        {"start": 2.5, "end": 61.0, "text": "Today: bees."},
    ]
    assert (data["language"], data["duration"], data["model"], data["source"]) == ("en", 61.0, "tiny.en", "whisper")


def test_txt_export(episode, client_signed_in):
    response = client_signed_in.get(f"/episodes/{episode.pk}/transcript.txt")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "[00:00:00] Welcome to <Field Notes> & friends.\n[00:00:02] Today: bees.\n"


def test_anonymous_users_are_sent_to_log_in(episode, settings):
    settings.LOGIN_URL = "/accounts/login/"  # independent of where the auth views live

    response = Client().get(f"/episodes/{episode.pk}/transcript.vtt")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/?next=")
    assert f"/episodes/{episode.pk}/transcript.vtt" in response["Location"]


def test_unknown_format_hidden_episode_inactive_podcast_or_no_transcript_is_404(episode, podcast, client_signed_in):
    assert client_signed_in.get(f"/episodes/{episode.pk}/transcript.pdf").status_code == HTTPStatus.NOT_FOUND
    assert client_signed_in.get(f"/episodes/{make_episode(podcast).pk}/transcript.vtt").status_code == HTTPStatus.NOT_FOUND

    Episode.objects.filter(pk=episode.pk).update(hidden=True)
    assert client_signed_in.get(f"/episodes/{episode.pk}/transcript.vtt").status_code == HTTPStatus.NOT_FOUND

    Episode.objects.filter(pk=episode.pk).update(hidden=False)
    Podcast.objects.update(status=Podcast.Status.DISABLED)
    assert client_signed_in.get(f"/episodes/{episode.pk}/transcript.vtt").status_code == HTTPStatus.NOT_FOUND


def test_exports_are_read_only(episode, client_signed_in):
    assert client_signed_in.post(f"/episodes/{episode.pk}/transcript.txt").status_code == HTTPStatus.METHOD_NOT_ALLOWED
