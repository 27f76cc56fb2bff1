import json
import re

import pytest
from django.core.management import call_command

from podcasts.models import AdSpan, Episode
from podcasts.services import DEMO_TITLE
from summaries.selectors import summary_current
from tests.factories import make_transcribed_episode


@pytest.mark.django_db
def test_demo_command_shows_summaries_at_both_prompt_versions(extractive, capsys, settings):
    episodes = [make_transcribed_episode(guid=f"d{i}") for i in range(2)]

    call_command("demo")

    output = capsys.readouterr().out
    # The three bundled sample episodes plus the two made here: the oldest at v2 (so it shows
    # Outdated and Regenerate), the rest at the current v3.
    assert "Summaries at prompt v2: 1 episode(s)" in output
    assert "Summaries at prompt v3: 4 episode(s)" in output
    assert {summary_current(episode_id=e.pk).prompt_version for e in episodes} == {"v3"}
    titles = set(Episode.objects.filter(podcast__title=DEMO_TITLE).values_list("title", flat=True))
    assert titles == {"Episode 1: Urban beekeeping", "Episode 2: A short history of the bicycle", "Episode 3: Sleep and memory"}


@pytest.mark.django_db
def test_demo_episode_sponsor_read_is_detected_collapsed_and_left_out_of_its_summary(extractive, capsys, media_root):
    """The bundled episode 2 (55 s) carries a synthesized sponsor read: the offline detector
    finds it in the demo's own pipeline, the page folds it, and its summary says nothing of it."""
    from django.test import Client

    call_command("demo")

    episode = Episode.objects.get(podcast__title=DEMO_TITLE, guid="castnotes-demo-episode-2")
    transcript = episode.transcript
    read = [s for s in transcript.segments if re.search(r"brought to you|coffee|promo code", s["text"], re.IGNORECASE)]
    assert len(read) >= 3  # the read was transcribed
    spans = list(transcript.ad_spans.filter(status=AdSpan.Status.ACTIVE, origin=AdSpan.Origin.DETECTOR))
    assert len(spans) == 1
    span = spans[0]
    # It covers the read (each line's middle) and not the talk about bicycles around it.
    assert all(span.start <= (s["start"] + s["end"]) / 2 < span.end for s in read)
    talk = [s for s in transcript.segments if re.search(r"bicycle|pedal|wheel", s["text"], re.IGNORECASE)]
    assert talk and not any(span.start <= (s["start"] + s["end"]) / 2 < span.end for s in talk)
    summary = summary_current(episode_id=episode.pk)
    text = json.dumps(summary.content).lower()
    assert "coffee" not in text and "promo" not in text and "brought to you" not in text
    assert "bicycle" in summary.content["tldr"].lower()
    page = Client().get(episode.get_absolute_url()).content.decode()
    assert page.count('class="ad-span"') == 1 and 'id="skip-ad"' in page


@pytest.mark.django_db
def test_demo_subscribes_premium_leaves_one_episode_to_watch_and_caches_the_artwork(extractive, capsys, settings, media_root):
    from django.test import Client

    from podcasts.models import Episode, Podcast, Subscription

    call_command("demo")

    podcast = Podcast.objects.get(title="Castnotes Sample Podcast")
    assert Subscription.objects.filter(user__username="premium", podcast=podcast).exists()
    replayed = Episode.objects.get(podcast=podcast, pipeline_status=Episode.PipelineStatus.DOWNLOADED)
    assert f"watch /episodes/{replayed.pk}/ follow it live" in capsys.readouterr().out
    page = Client().get(replayed.get_absolute_url()).content.decode()
    assert 'data-testid="pipeline-status"' in page and ">Queued<" in page and "hx-trigger" in page
    assert podcast.artwork_type == "image/png"
    assert Client().get(f"/podcasts/{podcast.pk}/artwork")["Content-Type"] == "image/png"
