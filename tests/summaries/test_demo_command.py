import json
import re

import pytest
from django.core.management import call_command

from podcasts.models import Episode
from podcasts.services import DEMO_TITLE
from summaries.selectors import summary_current
from tests.factories import make_transcribed_episode
from tests.support.pipeline import DEMO_AUDIO


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


def test_demo_episode_with_a_sponsor_read_is_summarized_without_it(tmp_path, capsys):
    """The bundled episode 2 carries a synthesized sponsor read; given its span (as sponsor
    detection or a curator marks it), nothing of it reaches the summary."""
    call_command("transcribe", str(DEMO_AUDIO / "episode-2.mp3"), "--json")
    transcript = json.loads(capsys.readouterr().out)
    segments = transcript["segments"]
    read = [s for s in segments if re.search(r"brought to you|coffee|promo code", s["text"], re.IGNORECASE)]
    assert len(read) >= 3  # the read was transcribed
    span = {"start": read[0]["start"], "end": read[-1]["end"], "label": "Hillside Coffee"}
    path = tmp_path / "episode-2.json"
    path.write_text(json.dumps({"segments": segments, "title": "Episode 2: A short history of the bicycle", "ads": [span]}))

    call_command("summarize_transcript", str(path), "--provider", "extractive", "--json")

    output = json.loads(capsys.readouterr().out)
    summary = json.dumps(output["summary"]).lower()
    assert "coffee" not in summary and "promo" not in summary and "field notes" not in summary
    assert "bicycle" in output["summary"]["tldr"]
    assert output["ads"][0]["label"] == "Hillside Coffee"


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
