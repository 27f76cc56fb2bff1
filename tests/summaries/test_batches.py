"""Bulk regeneration through Message Batches: the real anthropic SDK against the local fake API."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from curation.models import CurationItem
from summaries.batches import regeneration_batches_poll
from summaries.deliveries import deliveries_sweep, delivery_run
from summaries.models import Delivery, LLMUsage, Summary
from summaries.selectors import summary_current
from tests.factories import make_podcast, make_summarized_episode
from tests.fakes.anthropic_server import (
    batch_canceled,
    batch_errored,
    batch_expired,
    batch_succeeded,
    error_reply,
    text_reply,
)

pytestmark = pytest.mark.django_db


def run(*args) -> dict:
    out = StringIO()
    call_command("regenerate_summaries", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def batch_api(fake_anthropic, settings):
    settings.SUMMARY_PROMPT_VERSION = "v2"
    settings.REDIS_URL = ""
    return fake_anthropic


@pytest.fixture
def outdated(db, batch_api):
    """Three episodes whose current summary is at v1 (the target is v2)."""
    podcast = make_podcast("Tides")
    return [make_summarized_episode(podcast, summary_version="v1") for _ in range(3)]


def _submit(django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        return run("--execute", "--batch")


def test_batch_execute_submits_one_batch_with_the_synchronous_request_params(
    outdated, batch_api, django_capture_on_commit_callbacks
):
    result = _submit(django_capture_on_commit_callbacks)

    assert result["created"] == 3 and result["batched"] == 3 and result["queued"] == 0
    assert len(batch_api.batch_requests) == 1
    entries = batch_api.batch_requests[0]["requests"]
    deliveries = list(Delivery.objects.order_by("pk"))
    assert [e["custom_id"] for e in entries] == [f"delivery-{d.pk}" for d in deliveries]
    params = entries[0]["params"]
    assert params["tool_choice"] == {"type": "tool", "name": "record_summary"}
    assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert params["model"] == "claude-haiku-4-5"
    assert "Salt water is hard on the bearings." in params["messages"][0]["content"]
    assert result["batch_ids"] == ["msgbatch_fake1"]
    assert {d.batch_id for d in deliveries} == {"msgbatch_fake1"}
    assert {d.status for d in deliveries} == {"pending"}
    assert batch_api.requests == []  # no synchronous Messages request


def test_batch_deliveries_are_left_alone_by_the_delivery_worker_and_the_sweep(
    outdated, batch_api, django_capture_on_commit_callbacks
):
    _submit(django_capture_on_commit_callbacks)
    delivery = Delivery.objects.first()
    Delivery.objects.update(status_changed_at="2020-01-01T00:00:00Z")

    assert delivery_run(delivery_id=delivery.pk) == "skipped"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert deliveries_sweep()["enqueued"] == 0
    assert callbacks == []
    assert batch_api.requests == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}


def test_polling_an_unfinished_batch_changes_nothing(outdated, batch_api, django_capture_on_commit_callbacks):
    _submit(django_capture_on_commit_callbacks)
    before = {e.pk: summary_current(episode_id=e.pk).pk for e in outdated}

    totals = regeneration_batches_poll()

    assert totals["batches"] == 1 and totals["stored"] == 0 and totals["failed"] == 0
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}
    assert {e.pk: summary_current(episode_id=e.pk).pk for e in outdated} == before
    assert Summary.objects.filter(prompt_version="v2").count() == 0


def test_polling_an_ended_batch_stores_summaries_and_retires_the_old_ones(
    outdated, batch_api, mailoutbox, django_capture_on_commit_callbacks
):
    result = _submit(django_capture_on_commit_callbacks)
    old = {e.pk: summary_current(episode_id=e.pk) for e in outdated}
    batch_api.batch_end(result["batch_ids"][0])

    totals = regeneration_batches_poll()

    assert totals["stored"] == 3 and totals["failed"] == 0
    for episode in outdated:
        current = summary_current(episode_id=episode.pk)
        assert current.prompt_version == "v2" and current.provider == "anthropic"
        assert current.editorial_status == "published"
        assert current.content["quotes"]  # verified against the transcript
        old[episode.pk].refresh_from_db()
        assert old[episode.pk].editorial_status == "retired"
        assert old[episode.pk].superseded_by_id == current.pk
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert mailoutbox == []  # bulk regenerations belong to the system account: no address, as with --execute
    assert batch_api.requests == []


def test_batch_results_cost_half_and_are_counted_in_the_daily_ledger(outdated, batch_api, django_capture_on_commit_callbacks):
    result = _submit(django_capture_on_commit_callbacks)
    batch_api.batch_end(result["batch_ids"][0])

    regeneration_batches_poll()

    from summaries.llm import cost_usd

    summaries = list(Summary.objects.filter(prompt_version="v2"))
    for summary in summaries:
        list_price = cost_usd("claude-haiku-4-5", input_tokens=summary.input_tokens, output_tokens=summary.output_tokens)
        assert summary.cost_usd == (list_price * Decimal("0.5")).quantize(Decimal("0.000001"))
        assert summary.cost_usd > 0
    ledger = LLMUsage.objects.get()
    assert ledger.input_tokens == sum(s.input_tokens for s in summaries)
    assert ledger.output_tokens == sum(s.output_tokens for s in summaries)
    assert ledger.requests == 3 and ledger.reserved_tokens == 0
    assert ledger.cost_usd == sum(s.cost_usd for s in summaries)


def test_polling_twice_stores_nothing_twice(outdated, batch_api, django_capture_on_commit_callbacks):
    result = _submit(django_capture_on_commit_callbacks)
    batch_api.batch_end(result["batch_ids"][0])

    regeneration_batches_poll()
    summaries_after_first = Summary.objects.count()
    ledger_after_first = LLMUsage.objects.get().input_tokens
    second = regeneration_batches_poll()

    assert second["batches"] == 0 and second["stored"] == 0
    assert Summary.objects.count() == summaries_after_first
    assert LLMUsage.objects.get().input_tokens == ledger_after_first
    assert Summary.objects.filter(prompt_version="v2").count() == 3


def test_a_poll_after_a_crash_mid_store_finishes_without_a_second_summary(
    outdated, batch_api, django_capture_on_commit_callbacks
):
    """The sweep puts a crashed processing delivery back; the next poll reuses its stored summary."""
    result = _submit(django_capture_on_commit_callbacks)
    batch_api.batch_end(result["batch_ids"][0])
    regeneration_batches_poll()
    delivery = Delivery.objects.first()
    summary_id = delivery.summary_id
    Delivery.objects.filter(pk=delivery.pk).update(status="processing", status_changed_at="2020-01-01T00:00:00Z")
    Summary.objects.filter(pk=summary_id).update(editorial_status="published")

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep()
    assert Delivery.objects.get(pk=delivery.pk).status == "pending"
    totals = regeneration_batches_poll()

    assert totals["stored"] == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.summary_id == summary_id
    assert Summary.objects.filter(prompt_version="v2").count() == 3


def test_mixed_batch_stores_the_good_entry_and_flags_the_others(outdated, batch_api, django_capture_on_commit_callbacks):
    result = _submit(django_capture_on_commit_callbacks)
    good, errored, malformed = Delivery.objects.order_by("pk")
    old = {d.pk: summary_current(episode_id=d.episode_id) for d in (errored, malformed)}
    batch_api.batch_end(
        result["batch_ids"][0],
        {
            f"delivery-{errored.pk}": batch_errored("overloaded_error", "try later"),
            f"delivery-{malformed.pk}": batch_succeeded(text_reply("Sorry, I cannot produce JSON today.")),
        },
    )

    totals = regeneration_batches_poll()

    assert totals["stored"] == 1 and totals["failed"] == 2
    for delivery in (good, errored, malformed):
        delivery.refresh_from_db()
    assert good.status == "sent"
    assert summary_current(episode_id=good.episode_id).prompt_version == "v2"
    for delivery in (errored, malformed):
        assert delivery.status == "failed"
        assert summary_current(episode_id=delivery.episode_id) == old[delivery.pk]
        assert old[delivery.pk].editorial_status == "published"
    error_item = CurationItem.objects.get(flag_class="delivery_failed")
    assert error_item.object_id == str(errored.pk)
    assert "overloaded_error" in error_item.evidence["raw_entry"]
    assert error_item.evidence["batch_id"] == result["batch_ids"][0]
    bad_item = CurationItem.objects.get(flag_class="malformed_llm_output")
    assert bad_item.object_id == str(malformed.pk)
    assert "cannot produce JSON" in bad_item.evidence["raw_entry"]
    assert bad_item.evidence["reason"] == "unparseable"
    assert not Summary.objects.filter(episode_id__in=[errored.episode_id, malformed.episode_id], prompt_version="v2").exists()
    assert LLMUsage.objects.get().requests == 2  # the good and the malformed reply spent tokens


@pytest.mark.parametrize("entry", [batch_expired(), batch_canceled()], ids=["expired", "canceled"])
def test_expired_and_canceled_entries_fail_and_are_flagged(outdated, batch_api, entry, django_capture_on_commit_callbacks):
    result = _submit(django_capture_on_commit_callbacks)
    first = Delivery.objects.order_by("pk").first()
    old = summary_current(episode_id=first.episode_id)
    batch_api.batch_end(result["batch_ids"][0], {f"delivery-{first.pk}": entry})

    regeneration_batches_poll()

    first.refresh_from_db()
    assert first.status == "failed" and first.last_error == f"batch: {entry['type']}"
    assert summary_current(episode_id=first.episode_id) == old
    item = CurationItem.objects.get(flag_class="delivery_failed")
    assert entry["type"] in item.evidence["raw_entry"]


def test_a_transcript_over_the_input_budget_goes_to_the_normal_queue(
    batch_api, settings, mailoutbox, django_capture_on_commit_callbacks
):
    podcast = make_podcast("Tides")
    long_episode = make_summarized_episode(podcast, summary_version="v1")
    make_summarized_episode(podcast, summary_version="v1")
    long_text = " ".join(f"Sentence number {i} about the tide and the turbines." for i in range(400))
    long_episode.transcript.segments = [
        {"start": float(i * 5), "end": float(i * 5 + 5), "text": long_text[i * 200 : (i + 1) * 200]}
        for i in range(len(long_text) // 200)
    ]
    long_episode.transcript.save()
    settings.SUMMARY_MAX_INPUT_TOKENS = 3000

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("regenerate_summaries", "--execute", "--batch", stdout=out)

    assert "1 transcript(s) too long for one request: queued for the normal worker at list price." in out.getvalue()
    assert "Submitted 1 in Message Batch(es) msgbatch_fake1; the scheduler stores the results." in out.getvalue()
    assert len(batch_api.batch_requests[0]["requests"]) == 1
    queued = Delivery.objects.get(episode=long_episode)
    assert queued.batch_id == "" and queued.status == "sent"  # ran in-process (no Redis), in parts
    assert len(batch_api.requests) > 1
    assert summary_current(episode_id=long_episode.pk).prompt_version == "v2"


def test_batch_execute_is_idempotent(outdated, batch_api, django_capture_on_commit_callbacks):
    _submit(django_capture_on_commit_callbacks)
    second = _submit(django_capture_on_commit_callbacks)

    assert second["created"] == 0 and second["batched"] == 0 and second["batch_ids"] == []
    assert len(batch_api.batch_requests) == 1
    assert Delivery.objects.count() == 3


def test_dry_run_with_batch_estimates_half_price_and_writes_nothing(outdated, batch_api):
    with CaptureQueriesContext(connection) as queries:
        result = run("--batch")

    statements = {q["sql"].lstrip().split()[0].upper() for q in queries}
    assert statements <= {"SELECT", "SAVEPOINT", "RELEASE"}, statements
    assert result["dry_run"] is True and result["total"] == 3
    assert Decimal(result["estimated_cost_usd"]) > 0
    # Both are rounded to cents, so half of the list price agrees to within a cent.
    assert abs(Decimal(result["estimated_cost_usd"]) * 2 - Decimal(result["estimated_cost_usd_list_price"])) <= Decimal("0.01")
    assert not Delivery.objects.exists()
    assert batch_api.batch_requests == [] and batch_api.requests == []

    out = StringIO()
    call_command("regenerate_summaries", "--batch", stdout=out)
    assert "Estimated cost at batch price: $" in out.getvalue()


@pytest.mark.parametrize("execute", [True, False], ids=["execute", "dry-run"])
def test_batch_without_an_anthropic_key_is_one_clear_error(outdated, settings, execute):
    settings.SUMMARY_PROVIDER = "extractive"
    settings.ANTHROPIC_API_KEY = ""

    with pytest.raises(CommandError, match=r"^--batch needs the Anthropic provider: set ANTHROPIC_API_KEY"):
        call_command("regenerate_summaries", "--batch", *(["--execute"] if execute else []))
    assert not Delivery.objects.exists()


def test_batch_refused_by_the_api_cancels_its_deliveries(outdated, batch_api, django_capture_on_commit_callbacks):
    batch_api.batch_refuse = error_reply(400, "invalid_request_error")

    with pytest.raises(CommandError, match=r"refused the batch \(400\); its 3 regeneration\(s\) were cancelled"):
        call_command("regenerate_summaries", "--execute", "--batch")

    assert set(Delivery.objects.values_list("status", "batch_id")) == {("cancelled", "")}
    batch_api.batch_refuse = None
    assert _submit(django_capture_on_commit_callbacks)["batched"] == 3  # a re-run recreates them


def test_scheduler_polls_the_batches(outdated, batch_api, django_capture_on_commit_callbacks, monkeypatch):
    result = _submit(django_capture_on_commit_callbacks)
    batch_api.batch_end(result["batch_ids"][0])
    from podcasts.management.commands import scheduler

    # Only the batch poll: pollfeeds would reach for the test feeds' (non-local) URLs.
    monkeypatch.setattr(scheduler, "PERIODIC", [])
    call_command("scheduler", "--once", stdout=StringIO(), stderr=StringIO())

    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_large_run_is_split_into_batches_under_the_size_limit(
    outdated, batch_api, monkeypatch, django_capture_on_commit_callbacks
):
    from summaries import batches

    monkeypatch.setattr(batches, "BATCH_MAX_REQUESTS", 2)
    result = _submit(django_capture_on_commit_callbacks)

    assert result["batched"] == 3 and len(result["batch_ids"]) == 2
    assert [len(b["requests"]) for b in batch_api.batch_requests] == [2, 1]
    for batch_id in result["batch_ids"]:
        batch_api.batch_end(batch_id)
    assert regeneration_batches_poll()["stored"] == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_scheduler_enqueues_the_poll_and_a_real_rq_worker_stores_the_results(batch_api, redis_queues, monkeypatch, settings):
    import subprocess

    import django_rq

    from podcasts.management.commands import scheduler
    from tests.support.pipeline import queue_jobs
    from tests.support.workers import ROOT, worker_command, worker_env

    podcast = make_podcast("Tides")
    episodes = [make_summarized_episode(podcast, summary_version="v1") for _ in range(2)]
    django_rq.get_queue("deliveries").empty()
    result = run("--execute", "--batch")
    assert queue_jobs("deliveries") == []  # batch deliveries are not queued for the normal worker
    batch_api.batch_end(result["batch_ids"][0])
    monkeypatch.setattr(scheduler, "PERIODIC", [])  # only the batch poll (no feeds to fetch)
    env = worker_env(
        redis_queues,
        ANTHROPIC_API_KEY="sk-test-fake",
        ANTHROPIC_BASE_URL=batch_api.url,
        SUMMARY_PROVIDER="anthropic",
        ANTHROPIC_MODEL="claude-haiku-4-5",
        SUMMARY_PROMPT_VERSION="v2",
    )

    for _ in range(2):  # the second scheduled poll finds nothing left to do
        call_command("scheduler", "--once", stdout=StringIO(), stderr=StringIO())
        assert queue_jobs("deliveries") == [("summaries.tasks_deliveries.poll_regeneration_batches", [])]
        done = subprocess.run(worker_command("deliveries"), check=False, cwd=ROOT, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert [summary_current(episode_id=e.pk).prompt_version for e in episodes] == ["v2", "v2"]
    assert Summary.objects.filter(prompt_version="v2").count() == 2


def test_a_batch_whose_worst_case_exceeds_the_daily_budget_is_refused_before_anything_is_written(outdated, batch_api, settings):
    settings.LLM_DAILY_TOKEN_BUDGET = 5000  # three requests of up to SUMMARY_MAX_OUTPUT_TOKENS each do not fit

    assert run("--batch")["fits_daily_budget"] is False
    with pytest.raises(CommandError, match=r"exceeds what is left of LLM_DAILY_TOKEN_BUDGET today \(5000\)"):
        call_command("regenerate_summaries", "--execute", "--batch")

    assert not Delivery.objects.exists()
    assert batch_api.batch_requests == []
