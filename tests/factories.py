"""Arranging data for the tests: real rows, created directly, by plain functions.

Every default is a plain value; a test that needs another one passes it by keyword.
"""

import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from podcasts.models import Episode, Podcast, Profile, Subscription, Transcript
from summaries.models import Summary
from tests.fakes.transcripts import short_transcript

PASSWORD = "pw-castnotes-123"
TLDR = "Tidal turbines are coming of age."
SEGMENTS = [
    {"start": 0.0, "end": 4.0, "text": "Welcome to the show about tidal energy."},
    {"start": 4.0, "end": 9.5, "text": "Today we talk about turbines under the sea."},
    {"start": 75.0, "end": 80.0, "text": "Salt water is hard on the bearings."},
]

# One counter for every factory, so names, feed URLs, guids and hashes never collide.
_counter = itertools.count(1)


def summary_content(tldr: str = TLDR) -> dict:
    return {
        "tldr": tldr,
        "key_points": ["Turbines sit on the sea bed.", "Salt water wears bearings.", "Costs are falling."],
        "quotes": [{"text": "Salt water is hard on the bearings.", "start": 75.0}],
        "chapters": [{"title": "Intro", "start": 0.0}, {"title": "Bearings", "start": 75.0}],
        "topics": ["energy", "engineering"],
    }


def make_user(
    username: str | None = None,
    *,
    password: str = PASSWORD,
    email: str | None = None,
    plan: str | None = Profile.Plan.FREE,
    is_staff: bool = False,
    is_superuser: bool = False,
):
    """A user with a Profile on `plan`; `plan=None` leaves the Profile out (as for a user made in the admin)."""
    username = username or f"user{next(_counter)}"
    user = get_user_model().objects.create_user(
        username=username,
        email=email if email is not None else f"{username}@example.com",
        password=password,
        is_staff=is_staff,
        is_superuser=is_superuser,
    )
    if plan is not None:
        Profile.objects.create(user=user, plan=plan)
    return user


def make_podcast(
    title: str | None = None, *, feed_url: str | None = None, status: str = Podcast.Status.ACTIVE, **fields
) -> Podcast:
    n = next(_counter)
    return Podcast.objects.create(
        feed_url=feed_url or f"https://feeds.example.com/{n}.xml", title=title or f"Podcast {n}", status=status, **fields
    )


def make_episode(podcast: Podcast, *, guid: str | None = None, title: str | None = None, **fields) -> Episode:
    """An episode row only (no transcript, no summary); any other model field by keyword."""
    n = next(_counter)
    return Episode.objects.create(podcast=podcast, guid=guid or f"guid-{n}", title=title or f"Episode {n}", **fields)


def make_transcript(
    episode: Episode,
    *,
    segments: list[dict] = SEGMENTS,
    text: str | None = None,
    duration: float | None = None,
    source: str = Transcript.Source.WHISPER,
) -> Transcript:
    return Transcript.objects.create(
        episode=episode,
        source=source,
        segments=segments,
        text=text if text is not None else " ".join(s["text"] for s in segments),
        duration=duration,
    )


def make_summary(
    episode: Episode,
    *,
    prompt_version: str = "v1",
    editorial_status: str = "published",
    tldr: str = TLDR,
    content: dict | None = None,
) -> Summary:
    return Summary.objects.create(
        episode=episode,
        content=content if content is not None else summary_content(tldr),
        prompt_version=prompt_version,
        provider="extractive",
        model="extractive-1",
        source_hash=f"hash-{next(_counter)}",
        editorial_status=editorial_status,
    )


def make_summarized_episode(
    podcast: Podcast,
    *,
    title: str | None = None,
    transcript: bool = True,
    summary_version: str | None = "v1",
    summary_status: str = "published",
    tldr: str = TLDR,
    days_ago: int = 0,
) -> Episode:
    """What a reader sees: a summarized episode with SEGMENTS as its transcript and one summary
    (`summary_version=None`: none). Each one is published a second before the previous one
    (seconds, not minutes: the counter runs across the whole suite, and `days_ago` must hold)."""
    n = next(_counter)
    episode = make_episode(
        podcast,
        title=title,
        enclosure_url=f"https://media.example.com/{n}.mp3",
        published_at=timezone.now() - timedelta(days=days_ago, seconds=n),
        pipeline_status=Episode.PipelineStatus.SUMMARIZED,
    )
    if transcript:
        make_transcript(episode)
    if summary_version:
        make_summary(episode, prompt_version=summary_version, editorial_status=summary_status, tldr=tldr)
    return episode


def make_transcribed_episode(
    *,
    guid: str = "ep-1",
    title: str = "Compost",
    pipeline_status: str = Episode.PipelineStatus.TRANSCRIBED,
    transcript: dict | None = None,
) -> Episode:
    """An episode waiting to be summarized, in one shared podcast, with `transcript`
    ({"segments", "text"}; the five-minute compost talk by default) as a whisper transcript."""
    podcast, _ = Podcast.objects.get_or_create(feed_url="https://example.com/feed.xml", defaults={"title": "Garden Talk"})
    episode = make_episode(podcast, guid=guid, title=title, pipeline_status=pipeline_status)
    data = transcript or short_transcript()
    make_transcript(episode, segments=data["segments"], text=data["text"], duration=data["segments"][-1]["end"])
    return episode


def make_subscription(user, podcast: Podcast, *, notify: bool = False) -> Subscription:
    return Subscription.objects.create(user=user, podcast=podcast, notify_new_episodes=notify)


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
