"""The episode page folds each ad span of the transcript, offers "Skip sponsor", and marks ad breaks."""

import json
import re

import pytest
from django.test import Client

from podcasts.models import AdSpan, Transcript
from tests.factories import make_podcast, make_summarized_episode

pytestmark = pytest.mark.django_db

SEGMENTS = [
    {"start": 0.0, "end": 20.0, "text": "Welcome to the show about tides."},
    {"start": 112.0, "end": 130.0, "text": "This episode is brought to you by Acme <Coffee>."},
    {"start": 130.0, "end": 150.0, "text": "Go to acme dot com slash tides."},
    {"start": 150.0, "end": 170.0, "text": "Back to the turbines on the sea bed."},
]


@pytest.fixture
def episode():
    episode = make_summarized_episode(make_podcast("Sea Power"), title="Tides")
    Transcript.objects.filter(episode=episode).update(segments=SEGMENTS, text=" ".join(s["text"] for s in SEGMENTS))
    transcript = Transcript.objects.get(episode=episode)
    AdSpan.objects.create(transcript=transcript, start=112.0, end=150.0, label="Acme", origin=AdSpan.Origin.DETECTOR)
    AdSpan.objects.create(
        transcript=transcript, start=150.0, end=170.0, origin=AdSpan.Origin.DETECTOR, status=AdSpan.Status.REJECTED_BY_CURATOR
    )
    return episode


def test_the_transcript_folds_each_ad_span_under_a_labelled_summary(episode):
    body = Client().get(episode.get_absolute_url()).content.decode()

    folded = re.search(r'<li class="ad-span"[^>]*>(.*?)</details></li>', body, re.S)
    assert folded is not None
    assert "<summary>Sponsor: Acme · " in folded.group(1) and ">1:52<" in folded.group(1)
    assert "brought to you by Acme &lt;Coffee&gt;" in folded.group(1) and "acme dot com" in folded.group(1)
    assert "Back to the turbines" not in folded.group(1)  # a curator said that one is no ad
    assert "Welcome to the show" in body.split('<li class="ad-span"')[0]


def test_the_player_gets_the_spans_to_skip_and_the_summary_marks_the_ad_breaks(episode):
    body = Client().get(episode.get_absolute_url()).content.decode()

    spans = json.loads(re.search(r'<script id="ad-spans" type="application/json">(.*?)</script>', body, re.S).group(1))
    assert spans == [{"start": 112.0, "end": 150.0, "label": "Acme"}]
    assert 'id="skip-ad"' in body
    assert re.search(r'data-testid="ad-breaks">Ad breaks: <a class="seek"[^>]*data-seek="112"[^>]*>1:52</a> Acme', body)


def test_an_episode_without_ads_has_no_skip_button(episode):
    AdSpan.objects.all().delete()

    body = Client().get(episode.get_absolute_url()).content.decode()

    assert 'id="skip-ad"' not in body and 'class="ad-span"' not in body and "ad-breaks" not in body
