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
