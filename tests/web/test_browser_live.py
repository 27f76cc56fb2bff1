"""The episode page follows the pipeline live (htmx polling the live fragment): headless
Chromium (Debian's package) against live_server, real RQ workers finishing the work."""

import pytest
from django.db import connection

from podcasts.models import Episode, Profile, Transcript
from podcasts.pipeline import episode_progress_record, transcript_store
from summaries.models import Delivery, Summary
from tests.factories import make_podcast, make_summary, make_user
from tests.fakes.transcripts import short_transcript

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Status = Episode.PipelineStatus
WAIT_MS = 40_000  # polling backs off (2 s, 3 s, 4.5 s, …): generous on a shared machine


def _run_worker(queue_name: str) -> None:
    """A real RQ worker (SimpleWorker, in this process so it shares the live server's database) on one queue."""
    import django_rq
    from rq import SimpleWorker

    queue = django_rq.get_queue(queue_name)
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    connection.close()


def _mark_page(page) -> None:
    """A flag only this page load holds: still set later means the page was never reloaded."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page) -> bool:
    return page.evaluate("window.__notReloaded === true")


def test_the_episode_page_moves_from_transcribing_to_the_summary_without_a_reload(browser, site):
    data = short_transcript()
    episode = Episode.objects.create(
        podcast=make_podcast("Garden Talk"),
        guid="live-1",
        title="Compost corner",
        pipeline_status=Status.TRANSCRIBING,
        audio_duration=300.0,
    )
    episode_progress_record(episode_id=episode.pk, share=0.2)
    page = browser.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{site.url}{episode.get_absolute_url()}")
    status = page.get_by_test_id("pipeline-status")
    assert status.inner_text() == "Transcribing 1:00 of 5:00"
    _mark_page(page)

    episode_progress_record(episode_id=episode.pk, share=0.6)
    page.get_by_text("Transcribing 3:00 of 5:00").wait_for(timeout=WAIT_MS)

    # The whisper job commits its transcript; the summarize job waits on the summaries queue.
    assert transcript_store(
        episode_id=episode.pk,
        from_status=Status.TRANSCRIBING,
        source="whisper",
        segments=data["segments"],
        language="en",
        duration=300.0,
    )
    page.get_by_text("Queued").wait_for(timeout=WAIT_MS)
    _run_worker("summaries")

    summary = Summary.objects.get(episode=episode)
    page.get_by_text(summary.content["tldr"]).first.wait_for(timeout=WAIT_MS)
    assert Episode.objects.get(pk=episode.pk).pipeline_status == Status.SUMMARIZED
    assert page.get_by_test_id("pipeline-status").count() == 0
    assert page.get_by_test_id("episode-live").get_attribute("hx-trigger") is None  # done: polling stopped
    assert _not_reloaded(page)
    assert not [text for text in console if "Content Security Policy" in text]  # htmx runs under the strict CSP
    page.close()


def test_regenerate_swaps_in_the_new_summary_without_a_reload(browser, site):
    user = make_user("premium", plan=Profile.Plan.PREMIUM)
    data = short_transcript()
    episode = Episode.objects.create(
        podcast=make_podcast("Garden Talk"),
        guid="live-2",
        title="Compost corner",
        pipeline_status=Status.SUMMARIZED,
    )
    Transcript.objects.create(episode=episode, source="whisper", segments=data["segments"], text=data["text"])
    make_summary(episode, prompt_version="v1", tldr="The old v1 summary.")
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-castnotes-123")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site.url}/")
    page.goto(f"{site.url}{episode.get_absolute_url()}")
    _mark_page(page)

    page.get_by_test_id("regenerate").click()
    page.get_by_test_id("regen-pending").wait_for(timeout=WAIT_MS)
    assert page.get_by_test_id("episode-live").get_attribute("hx-trigger")  # pending: it polls
    _run_worker("deliveries")

    new_tldr = Delivery.objects.get().summary.content["tldr"]
    page.get_by_text(new_tldr).first.wait_for(timeout=WAIT_MS)
    assert "The old v1 summary." not in page.content()
    assert page.get_by_test_id("regen-pending").count() == 0
    assert page.get_by_test_id("outdated").count() == 0
    assert _not_reloaded(page)
    context.close()


def test_without_javascript_the_page_shows_the_status_as_of_its_load(browser, site):
    episode = Episode.objects.create(
        podcast=make_podcast("Garden Talk"),
        guid="live-3",
        title="Compost corner",
        pipeline_status=Status.DOWNLOADING,
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{site.url}{episode.get_absolute_url()}")

    assert page.get_by_test_id("pipeline-status").inner_text() == "Downloading"
    context.close()
