import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from podcasts.models import Episode, Profile
from summaries.models import Delivery, Summary
from summaries.regeneration import regeneration_request
from tests.factories import make_podcast, make_summarized_episode, make_summary, make_user

pytestmark = pytest.mark.django_db


def run(*args) -> dict:
    out = StringIO()
    call_command("regenerate_summaries", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def library(db, settings):
    settings.SUMMARY_PROMPT_VERSION = "v3"
    alpha, beta = make_podcast("Alpha"), make_podcast("Beta")
    episodes = {
        "a1": make_summarized_episode(alpha, summary_version="v1"),
        "a2": make_summarized_episode(alpha, summary_version="v2"),
        "a3": make_summarized_episode(alpha, summary_version="v3"),  # current
        "b1": make_summarized_episode(beta, summary_version="v1"),
        "b2": make_summarized_episode(beta, summary_version="v1", summary_status="featured"),  # curator's pick
        "b3": make_summarized_episode(beta, summary_version="v1", summary_status="hidden"),  # nothing shown
        "b4": make_summarized_episode(beta, summary_version=None),  # never summarized
    }
    # An older v1 summary under a newer v3 one is not counted: only the current summary matters.
    make_summary(episodes["a3"], prompt_version="v1", editorial_status="published")
    Summary.objects.filter(episode=episodes["a3"], prompt_version="v1").update(created_at="2020-01-01T00:00:00Z")
    return alpha, beta, episodes


def test_dry_run_counts_by_podcast_and_prompt_version(library):
    alpha, beta, _ = library

    result = run()

    assert result["dry_run"] is True
    assert result["target_prompt_version"] == "v3"
    assert result["total"] == 3
    assert result["by_podcast"] == [
        {"podcast_id": alpha.pk, "title": "Alpha", "count": 2},
        {"podcast_id": beta.pk, "title": "Beta", "count": 1},
    ]
    assert result["by_prompt_version"] == [{"prompt_version": "v1", "count": 2}, {"prompt_version": "v2", "count": 1}]


def test_dry_run_writes_nothing_and_uses_aggregate_queries(library):
    with CaptureQueriesContext(connection) as queries:
        run()

    statements = [q["sql"].lstrip().split()[0].upper() for q in queries]
    assert set(statements) <= {"SELECT", "SAVEPOINT", "RELEASE"}, statements
    assert statements.count("SELECT") <= 4
    assert not Delivery.objects.exists()


def test_dry_run_query_count_does_not_grow_with_summaries(library):
    with CaptureQueriesContext(connection) as before:
        run()
    podcast = make_podcast("Gamma")
    for _ in range(20):
        make_summarized_episode(podcast, summary_version="v1")

    with CaptureQueriesContext(connection) as after:
        result = run()

    assert len(after) == len(before)
    assert result["total"] == 23


def test_filters_by_podcast_episode_and_target_version(library):
    alpha, _, episodes = library

    assert run("--podcast", str(alpha.pk))["total"] == 2
    assert run("--episode", str(episodes["b1"].pk))["total"] == 1
    assert run("--prompt-version", "v2")["total"] == 3  # a1 (v1), a3 (v3), b1 (v1)


def test_execute_creates_deliveries_and_is_idempotent(library, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = run("--execute")
    second = run("--execute")

    assert first["created"] == 3 and first["dry_run"] is False
    assert len(callbacks) == 3
    deliveries = Delivery.objects.all()
    assert {d.target_prompt_version for d in deliveries} == {"v3"}
    assert {d.kind for d in deliveries} == {"regeneration"}
    assert {d.user.username for d in deliveries} == {"castnotes-system"}
    assert not deliveries[0].user.is_active and not deliveries[0].user.has_usable_password()
    assert second["created"] == 0 and second["total"] == 0
    assert Delivery.objects.count() == 3


def test_execute_skips_episodes_already_pending_for_a_subscriber(library):
    _, _, episodes = library
    premium = make_user(plan=Profile.Plan.PREMIUM)
    regeneration_request(episode_id=episodes["a1"].pk, user=premium)

    result = run("--execute")

    assert result["created"] == 2
    assert Delivery.objects.filter(episode=episodes["a1"]).count() == 1


def test_hidden_episodes_are_not_regenerated(library):
    _, _, episodes = library
    Episode.objects.filter(pk=episodes["a1"].pk).update(hidden=True)

    assert run()["total"] == 2


def test_human_output_names_the_dry_run(library):
    out = StringIO()
    call_command("regenerate_summaries", stdout=out)

    text = out.getvalue()
    assert text.startswith("Dry run: 3 regeneration(s) to v3 would be created")
    assert "Alpha" in text and "By current prompt version:" in text


@pytest.mark.parametrize(
    "args, message",
    [(["--podcast", "999999"], "No podcast with id 999999."), (["--episode", "999999"], "No episode with id 999999.")],
)
def test_bad_ids_are_one_line_errors(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("regenerate_summaries", *args)


def test_a_featured_summary_keeps_its_episode_out_even_under_a_newer_published_one(library):
    _, _, episodes = library
    make_summary(episodes["b2"], prompt_version="v1", editorial_status="published")

    assert run("--episode", str(episodes["b2"].pk))["total"] == 0
