import pytest
from django.core.management import call_command

from summaries.selectors import summary_current
from tests.summaries.conftest import make_episode


@pytest.mark.django_db
def test_demo_command_shows_summaries_at_both_prompt_versions(extractive, capsys, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast demo users
    episodes = [make_episode(guid=f"d{i}") for i in range(2)]

    call_command("demo")

    output = capsys.readouterr().out
    # The three bundled sample episodes plus the two made here: the oldest at v1, the rest current.
    assert "Summaries at prompt v1: 1 episode(s)" in output
    assert "Summaries at prompt v2: 4 episode(s)" in output
    assert {summary_current(episode_id=e.pk).prompt_version for e in episodes} == {"v2"}


@pytest.mark.django_db
def test_demo_subscribes_premium_leaves_one_episode_to_watch_and_caches_the_artwork(extractive, capsys, settings, media_root):
    from django.test import Client

    from podcasts.models import Episode, Podcast, Subscription

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    call_command("demo")

    podcast = Podcast.objects.get(title="Castnotes Sample Podcast")
    assert Subscription.objects.filter(user__username="premium", podcast=podcast).exists()
    replayed = Episode.objects.get(podcast=podcast, pipeline_status=Episode.PipelineStatus.DOWNLOADED)
    assert f"watch /episodes/{replayed.pk}/ follow it live" in capsys.readouterr().out
    page = Client().get(replayed.get_absolute_url()).content.decode()
    assert 'data-testid="pipeline-status"' in page and ">Queued<" in page and "hx-trigger" in page
    assert podcast.artwork_type == "image/png"
    assert Client().get(f"/podcasts/{podcast.pk}/artwork")["Content-Type"] == "image/png"
