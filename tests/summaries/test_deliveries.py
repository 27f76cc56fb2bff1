"""Deliveries: regeneration end to end with the real summarizer (extractive provider),
delete-last under a failure at each step, email retries against a local SMTP server,
new-episode emails and the per-user daily email limit."""

import logging

import pytest
from django.db import connection
from django.test import Client

from curation.models import CurationItem
from curation.services import editorial_transition
from podcasts.models import Episode, Podcast, Profile, Subscription, Transcript
from summaries.deliveries import deliveries_for_new_episode, delivery_run
from summaries.models import Delivery, Summary
from summaries.regeneration import regeneration_request
from summaries.selectors import summary_current
from tests.factories import csrf_client, csrf_post, make_podcast, make_summary, make_user
from tests.fakes.smtp_server import FakeSMTP
from tests.fakes.transcripts import short_transcript

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def offline_summarizer(settings):
    settings.SUMMARY_PROVIDER = "extractive"
    settings.ANTHROPIC_API_KEY = ""
    settings.SUMMARY_PROMPT_VERSION = "v2"
    settings.DELIVERY_EMAIL_BACKOFF_SECONDS = 0.01


@pytest.fixture
def smtp(settings):
    """Point Django's SMTP backend at a fake server; `smtp(refuse_first=N)`."""
    servers = []

    def start(refuse_first: int = 0) -> FakeSMTP:
        server = FakeSMTP(refuse_first=refuse_first).start()
        servers.append(server)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def premium(db):
    return make_user("prem", plan=Profile.Plan.PREMIUM, email="prem@example.com")


@pytest.fixture
def episode(db):
    """An episode with a real transcript and a published summary at the old prompt v1."""
    data = short_transcript()
    episode = Episode.objects.create(
        podcast=make_podcast("Garden Talk"),
        guid="garden-1",
        title="Compost",
        pipeline_status="summarized",
        enclosure_url="https://media.example.com/garden-1.mp3",
    )
    Transcript.objects.create(episode=episode, source="whisper", segments=data["segments"], text=data["text"])
    make_summary(episode, prompt_version="v1", tldr="The old v1 summary.")
    return episode


def _old(episode) -> Summary:
    return Summary.objects.get(episode=episode, prompt_version="v1")


def _assert_old_still_current(episode) -> None:
    old = _old(episode)
    assert old.editorial_status == "published"
    assert summary_current(episode_id=episode.pk).pk == old.pk
    assert "The old v1 summary." in Client().get(episode.get_absolute_url()).content.decode()


def test_regeneration_stores_a_fresh_summary_emails_then_retires_the_old(premium, episode, mailoutbox):
    delivery = regeneration_request(episode_id=episode.pk, user=premium)

    status = delivery_run(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    old, new = _old(episode), delivery.summary
    assert status == "sent" and delivery.status == "sent" and delivery.sent_at is not None
    assert new.prompt_version == "v2" and new.editorial_status == "published"
    assert old.editorial_status == "retired" and old.superseded_by_id == new.pk
    assert summary_current(episode_id=episode.pk) == new
    assert Summary.objects.filter(episode=episode).count() == 2  # nothing deleted
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["prem@example.com"]
    assert f"/episodes/{episode.pk}/" in mailoutbox[0].body
    page = Client().get(episode.get_absolute_url()).content.decode()
    assert new.content["tldr"] in page and "The old v1 summary." not in page


def test_running_a_delivery_twice_sends_one_email(premium, episode, mailoutbox):
    delivery = regeneration_request(episode_id=episode.pk, user=premium)

    first = delivery_run(delivery_id=delivery.pk)
    second = delivery_run(delivery_id=delivery.pk)

    assert (first, second) == ("sent", "skipped")
    assert len(mailoutbox) == 1
    assert Summary.objects.filter(episode=episode).count() == 2


def test_a_second_users_regeneration_sends_the_summary_the_first_one_made(premium, episode, mailoutbox):
    """Two users press Regenerate on one outdated episode: one new summary, two emails, one published."""
    other = make_user("other", plan=Profile.Plan.PREMIUM, email="other@example.com")
    first = regeneration_request(episode_id=episode.pk, user=premium)
    second = regeneration_request(episode_id=episode.pk, user=other)

    assert (delivery_run(delivery_id=first.pk), delivery_run(delivery_id=second.pk)) == ("sent", "sent")

    first.refresh_from_db()
    second.refresh_from_db()
    assert second.summary_id == first.summary_id
    assert Summary.objects.filter(episode=episode).count() == 2
    assert list(Summary.objects.filter(episode=episode, editorial_status="published")) == [first.summary]
    assert sorted(m.to[0] for m in mailoutbox) == ["other@example.com", "prem@example.com"]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_regenerations_by_two_users_at_once_leave_one_published_summary(premium, episode, mailoutbox, redis_queues):
    from tests.support.concurrency import raised, run_at_once

    other = make_user("other", plan=Profile.Plan.PREMIUM, email="other@example.com")
    deliveries = [regeneration_request(episode_id=episode.pk, user=user) for user in (premium, other)]

    outcomes = run_at_once(*[lambda d=d: delivery_run(delivery_id=d.pk) for d in deliveries])

    assert raised(outcomes) == [] and outcomes == ["sent", "sent"]
    published = Summary.objects.filter(episode=episode, editorial_status="published")
    assert published.count() == 1
    assert published.get().prompt_version == "v2"
    assert summary_current(episode_id=episode.pk) == published.get()
    assert _old(episode).editorial_status == "retired"
    assert len(mailoutbox) == 2


def test_worker_uses_the_version_captured_at_request_time(premium, episode, settings, mailoutbox):
    delivery = regeneration_request(episode_id=episode.pk, user=premium)
    settings.SUMMARY_PROMPT_VERSION = "v1"  # changed after the click

    delivery_run(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.summary.prompt_version == "v2"


def test_summary_failure_leaves_the_old_summary_and_flags_the_delivery(premium, episode, mailoutbox):
    delivery = regeneration_request(episode_id=episode.pk, user=premium)
    Transcript.objects.filter(episode=episode).delete()  # the summarizer cannot run

    status = delivery_run(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert status == "failed" and delivery.last_error.startswith("summary:")
    assert Summary.objects.filter(episode=episode).count() == 1
    assert mailoutbox == []
    _assert_old_still_current(episode)
    item = CurationItem.objects.get(flag_class="delivery_failed")
    assert item.object_id == str(delivery.pk) and item.evidence["step"] == "summary"


def test_email_refused_four_times_fails_the_delivery_and_keeps_the_old_summary(premium, episode, smtp):
    server = smtp(refuse_first=4)
    delivery = regeneration_request(episode_id=episode.pk, user=premium)

    status = delivery_run(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert status == "failed" and delivery.last_error.startswith("email:")
    assert server.connections == 4  # one try and three retries
    assert server.messages == []
    _assert_old_still_current(episode)
    assert delivery.summary.editorial_status == "retired"  # the unsent new summary is kept, not shown
    item = CurationItem.objects.get(flag_class="delivery_failed")
    assert item.evidence["step"] == "email" and "@" not in str(item.evidence)


def test_email_refused_then_accepted_completes_the_regeneration(premium, episode, smtp):
    server = smtp(refuse_first=3)
    delivery = regeneration_request(episode_id=episode.pk, user=premium)

    status = delivery_run(delivery_id=delivery.pk)

    assert status == "sent"
    assert server.connections == 4
    assert len(server.messages) == 1 and server.messages[0][1] == ["<prem@example.com>"]
    assert _old(episode).editorial_status == "retired"
    assert not CurationItem.objects.filter(flag_class="delivery_failed").exists()


def test_failure_while_retiring_the_old_summary_rolls_the_swap_back(premium, episode, mailoutbox):
    old = _old(episode)
    with connection.cursor() as cursor:  # a database fault injected on exactly that write
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION castnotes_refuse_retire() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.editorial_status = 'retired' AND OLD.id = {old.pk} THEN RAISE EXCEPTION 'injected fault'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_retire BEFORE UPDATE ON summaries_summary "
                "FOR EACH ROW EXECUTE FUNCTION castnotes_refuse_retire()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_retire BEFORE UPDATE OF editorial_status ON summaries_summary "
                f"WHEN NEW.editorial_status = 'retired' AND OLD.id = {old.pk} "
                "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            )
    delivery = regeneration_request(episode_id=episode.pk, user=premium)

    status = delivery_run(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert status == "failed" and delivery.last_error.startswith("publish:")
    _assert_old_still_current(episode)
    assert delivery.summary.editorial_status == "retired"
    assert CurationItem.objects.get(flag_class="delivery_failed").evidence["step"] == "publish"


def test_a_curator_featuring_the_old_summary_meanwhile_wins(premium, episode, mailoutbox):
    curator = make_user(is_staff=True)
    delivery = regeneration_request(episode_id=episode.pk, user=premium)
    editorial_transition(_old(episode), "featured", actor=curator, reason="great one")

    status = delivery_run(delivery_id=delivery.pk)

    assert status == "failed"
    assert _old(episode).editorial_status == "featured"
    assert summary_current(episode_id=episode.pk).pk == _old(episode).pk


def test_pending_delivery_keeps_the_old_summary_visible_until_sent(premium, episode):
    delivery = regeneration_request(episode_id=episode.pk, user=premium)

    body = Client().get(episode.get_absolute_url()).content.decode()
    mine = Client()
    mine.force_login(premium)

    assert "The old v1 summary." in body
    assert "Regeneration pending" in mine.get(episode.get_absolute_url()).content.decode()
    assert Delivery.objects.get(pk=delivery.pk).status == "pending"


def test_bulk_regeneration_deliveries_run_without_an_email(episode, mailoutbox, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        call_command("regenerate_summaries", "--execute", stdout=open("/dev/null", "w"))

    delivery = Delivery.objects.get()
    assert delivery.status == "sent" and delivery.sent_at is None
    assert _old(episode).editorial_status == "retired"
    assert mailoutbox == []


# --- new-episode emails ---------------------------------------------------------------


def test_new_episode_emails_go_to_subscribers_who_opted_in(episode, mailoutbox, django_capture_on_commit_callbacks):
    keen, quiet, elsewhere = make_user("keen"), make_user("quiet"), make_user("elsewhere")
    Subscription.objects.create(user=keen, podcast=episode.podcast, notify_new_episodes=True)
    Subscription.objects.create(user=quiet, podcast=episode.podcast, notify_new_episodes=False)
    Subscription.objects.create(
        user=elsewhere, podcast=Podcast.objects.create(feed_url="https://x.example/f"), notify_new_episodes=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        created = deliveries_for_new_episode(episode_id=episode.pk)
    with django_capture_on_commit_callbacks(execute=True):
        again = deliveries_for_new_episode(episode_id=episode.pk)

    assert (created, again) == (1, 0)
    assert [m.to for m in mailoutbox] == [["keen@example.com"]]
    assert "The old v1 summary." in mailoutbox[0].body
    assert Delivery.objects.get().status == "sent"


def test_daily_email_limit_cancels_further_new_episode_emails(episode, mailoutbox, settings, django_capture_on_commit_callbacks):
    settings.EMAILS_PER_USER_PER_DAY = 1
    keen = make_user("keen")
    second = Episode.objects.create(podcast=episode.podcast, guid="garden-2", title="Mulch")
    Subscription.objects.create(user=keen, podcast=episode.podcast, notify_new_episodes=True)

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_for_new_episode(episode_id=episode.pk)
        deliveries_for_new_episode(episode_id=second.pk)

    assert len(mailoutbox) == 1
    statuses = dict(Delivery.objects.values_list("episode_id", "status"))
    assert statuses == {episode.pk: "sent", second.pk: "cancelled"}
    assert Delivery.objects.get(episode=second).last_error == "email skipped: daily email limit"


def test_new_episode_email_failure_retries_then_flags(episode, smtp, django_capture_on_commit_callbacks):
    server = smtp(refuse_first=10)
    keen = make_user("keen")
    Subscription.objects.create(user=keen, podcast=episode.podcast, notify_new_episodes=True)

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_for_new_episode(episode_id=episode.pk)

    assert server.connections == 4
    assert Delivery.objects.get().status == "failed"
    assert CurationItem.objects.filter(flag_class="delivery_failed").count() == 1


def test_delivery_logs_carry_ids_not_addresses(premium, episode, caplog, mailoutbox):
    caplog.set_level(logging.INFO)
    delivery = regeneration_request(episode_id=episode.pk, user=premium)

    delivery_run(delivery_id=delivery.pk)

    events = [record for record in caplog.records if getattr(record, "event", "").startswith(("delivery_", "regeneration_"))]
    assert {"regeneration_requested", "delivery_started", "delivery_sent"} <= {r.event for r in events}
    for record in caplog.records:
        assert "prem@example.com" not in record.getMessage()
        assert "prem@example.com" not in str(record.__dict__)


@pytest.mark.django_db(transaction=True)
def test_without_redis_the_regeneration_runs_in_the_request(premium, episode, mailoutbox):
    """The embedded default (no REDIS_URL): the job runs on the real commit, in-process."""
    client = csrf_client(premium)
    response = csrf_post(client, f"/episodes/{episode.pk}/regenerate/", HTTP_ACCEPT="application/json")

    assert response.status_code == 202
    assert response.json()["status"] == "sent"
    assert _old(episode).editorial_status == "retired"
    assert len(mailoutbox) == 1


def test_sweep_puts_a_crashed_delivery_back_and_reuses_its_summary(
    premium, episode, mailoutbox, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from summaries.deliveries import deliveries_sweep

    delivery = regeneration_request(episode_id=episode.pk, user=premium)
    fresh = make_summary(episode, prompt_version="v2", tldr="Made before the crash.")
    Delivery.objects.filter(pk=delivery.pk).update(
        status="processing", summary=fresh, status_changed_at=timezone.now() - timedelta(hours=2)
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = deliveries_sweep()
    with django_capture_on_commit_callbacks(execute=True):
        second = deliveries_sweep()

    delivery.refresh_from_db()
    assert first == {"reset": 1, "enqueued": 1} and second == {"reset": 0, "enqueued": 0}
    assert delivery.status == "sent" and delivery.summary_id == fresh.pk
    assert Summary.objects.filter(episode=episode).count() == 2  # no second LLM call
    assert summary_current(episode_id=episode.pk).pk == fresh.pk
