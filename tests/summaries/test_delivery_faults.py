"""Hostile rows in the delivery path (issue 17, defect 1): a feed guid with a newline,
an address the mail layer refuses, a delivery that crashes, attempts with no cap.
One bad row must fail on its own and never stall the rows after it."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from curation.models import CurationItem
from podcasts.models import Episode, Profile, Transcript
from summaries.deliveries import delivery_run
from summaries.models import Delivery
from summaries.regeneration import regeneration_request
from tests.factories import make_podcast, make_summary, make_user
from tests.fakes.transcripts import short_transcript

pytestmark = pytest.mark.django_db

HOSTILE_GUID = "evil-guid\nBcc: victim@example.com"


@pytest.fixture(autouse=True)
def offline_summarizer(settings):
    settings.SUMMARY_PROVIDER = "extractive"
    settings.ANTHROPIC_API_KEY = ""
    settings.SUMMARY_PROMPT_VERSION = "v2"
    settings.DELIVERY_EMAIL_BACKOFF_SECONDS = 0.01
    settings.DELIVERY_EMAIL_RETRIES = 0


def _outdated_episode(podcast, *, guid: str, title: str = "") -> Episode:
    data = short_transcript()
    episode = Episode.objects.create(podcast=podcast, guid=guid, title=title, pipeline_status="summarized")
    Transcript.objects.create(episode=episode, source="whisper", segments=data["segments"], text=data["text"])
    make_summary(episode, prompt_version="v1", tldr="The old v1 summary.")
    return episode


def _premium(name: str, email: str | None = None):
    return make_user(name, plan=Profile.Plan.PREMIUM, email=email or f"{name}@example.com")


def test_an_untitled_episode_whose_guid_has_a_newline_still_gets_its_email(mailoutbox):
    """A row stored before guids were normalised: the subject falls back to the guid and stays one line."""
    user = _premium("prem")
    episode = _outdated_episode(make_podcast("Show"), guid=HOSTILE_GUID)
    delivery = regeneration_request(episode_id=episode.pk, user=user)

    status = delivery_run(delivery_id=delivery.pk)

    assert status == "sent"
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.recipients() == ["prem@example.com"]
    assert message.message()["Bcc"] is None and message.bcc == []


def test_an_address_the_mail_layer_refuses_fails_the_delivery_with_an_item(mailoutbox):
    """BadHeaderError / ValueError from building the message fail this delivery; they are not a crash."""
    user = _premium("bad", email="bad@example.com\nBcc: victim@example.com")
    episode = _outdated_episode(make_podcast("Show"), guid="fine-1", title="Fine")
    delivery = regeneration_request(episode_id=episode.pk, user=user)

    status = delivery_run(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert status == "failed" and delivery.status == "failed"
    assert delivery.last_error.startswith("email:")
    assert "victim" not in delivery.last_error
    assert CurationItem.objects.filter(object_id=str(delivery.pk), flag_class="delivery_failed").count() == 1
    assert mailoutbox == []


def test_a_delivery_past_max_attempts_is_failed_instead_of_claimed_again(settings, mailoutbox):
    user = _premium("prem")
    episode = _outdated_episode(make_podcast("Show"), guid="g-1", title="Ep")
    delivery = regeneration_request(episode_id=episode.pk, user=user)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=settings.MAX_ATTEMPTS)

    first = delivery_run(delivery_id=delivery.pk)
    second = delivery_run(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (first, second) == ("failed", "skipped")
    assert delivery.status == "failed" and delivery.attempts == settings.MAX_ATTEMPTS
    assert "attempts" in delivery.last_error
    assert CurationItem.objects.filter(object_id=str(delivery.pk), flag_class="delivery_failed").count() == 1
    assert mailoutbox == []


def test_sweep_survives_a_crashing_delivery_and_runs_the_ones_after_it(settings, mailoutbox, django_capture_on_commit_callbacks):
    """Without Redis the sweep runs each delivery inline: the crash of one is logged, the next still runs."""
    settings.EMAIL_BACKEND = "tests.fakes.email_backends.ExplodingBackend"
    podcast = make_podcast("Show")
    bad_user = _premium("boom", email="explode@example.com")
    good_user = _premium("good")
    hostile = _outdated_episode(podcast, guid=HOSTILE_GUID)
    plain = _outdated_episode(podcast, guid="plain-1", title="Plain")
    stuck = [
        regeneration_request(episode_id=hostile.pk, user=bad_user),
        regeneration_request(episode_id=plain.pk, user=good_user),
    ]
    Delivery.objects.filter(pk__in=[d.pk for d in stuck]).update(
        status="processing", status_changed_at=timezone.now() - timedelta(hours=2)
    )
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("sweep", "--json", stdout=out)  # before the fix: the crash ends the command

    bad, good = (Delivery.objects.get(pk=d.pk) for d in stuck)
    assert good.status == "sent"
    assert bad.status in ("processing", "failed")
    assert [m.to for m in mailoutbox] == [["good@example.com"]]
    assert '"deliveries"' in out.getvalue()
