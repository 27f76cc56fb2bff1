"""Arranging data for the web tests: real rows, created directly."""

import itertools
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from podcasts.models import Episode, Podcast, Profile, Subscription, Transcript
from summaries.models import Summary

_counter = itertools.count(1)

SEGMENTS = [
    {"start": 0.0, "end": 4.0, "text": "Welcome to the show about tidal energy."},
    {"start": 4.0, "end": 9.5, "text": "Today we talk about turbines under the sea."},
    {"start": 75.0, "end": 80.0, "text": "Salt water is hard on the bearings."},
]


def summary_content(tldr: str = "Tidal turbines are coming of age.") -> dict:
    return {
        "tldr": tldr,
        "key_points": ["Turbines sit on the sea bed.", "Salt water wears bearings.", "Costs are falling."],
        "quotes": [{"text": "Salt water is hard on the bearings.", "start": 75.0}],
        "chapters": [{"title": "Intro", "start": 0.0}, {"title": "Bearings", "start": 75.0}],
        "topics": ["energy", "engineering"],
    }


@pytest.fixture
def make_user(db):
    def make(username: str | None = None, *, plan: str = Profile.Plan.FREE, is_staff: bool = False, email: str | None = None):
        username = username or f"user{next(_counter)}"
        user = get_user_model().objects.create_user(
            username=username, email=email if email is not None else f"{username}@example.com", password="pw-castnotes-123", is_staff=is_staff
        )
        Profile.objects.create(user=user, plan=plan)
        return user

    return make


@pytest.fixture
def make_podcast(db):
    def make(title: str | None = None, *, status: str = Podcast.Status.ACTIVE):
        n = next(_counter)
        return Podcast.objects.create(feed_url=f"https://feeds.example.com/{n}.xml", title=title or f"Podcast {n}", status=status)

    return make


@pytest.fixture
def make_episode(db):
    def make(podcast, *, title: str | None = None, transcript: bool = True, summary_version: str | None = "v1",
             summary_status: str = "published", tldr: str = "Tidal turbines are coming of age.", days_ago: int = 0):
        n = next(_counter)
        episode = Episode.objects.create(
            podcast=podcast,
            guid=f"guid-{n}",
            title=title or f"Episode {n}",
            enclosure_url=f"https://media.example.com/{n}.mp3",
            published_at=timezone.now() - timedelta(days=days_ago, minutes=n),
            pipeline_status="summarized",
        )
        if transcript:
            Transcript.objects.create(
                episode=episode, source="whisper", segments=SEGMENTS, text=" ".join(s["text"] for s in SEGMENTS)
            )
        if summary_version:
            make_summary(episode, prompt_version=summary_version, editorial_status=summary_status, tldr=tldr)
        return episode

    return make


def make_summary(episode, *, prompt_version: str = "v1", editorial_status: str = "published", tldr: str = "Tidal turbines are coming of age."):
    return Summary.objects.create(
        episode=episode,
        content=summary_content(tldr),
        prompt_version=prompt_version,
        provider="extractive",
        model="extractive-1",
        source_hash=f"hash-{next(_counter)}",
        editorial_status=editorial_status,
    )


@pytest.fixture
def subscribe(db):
    def make(user, podcast, notify: bool = False):
        return Subscription.objects.create(user=user, podcast=podcast, notify_new_episodes=notify)

    return make


def csrf_client(user=None) -> Client:
    """A client that enforces CSRF like a browser, holding a csrftoken cookie."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get("/accounts/login/")
    return client


def csrf_post(client: Client, url: str, data: dict | None = None, **extra):
    payload = {"csrfmiddlewaretoken": client.cookies["csrftoken"].value, **(data or {})}
    return client.post(url, payload, **extra)


@pytest.fixture
def current_version():
    return settings.SUMMARY_PROMPT_VERSION


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # PBKDF2's deliberate slowness is not under test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
