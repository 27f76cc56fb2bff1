"""Browser tests: headless Chromium (Debian's package) driven by Playwright against live_server."""

import pytest
from django.db import connection

from podcasts.models import Episode, Profile, Transcript
from summaries.models import Delivery
from tests.factories import make_podcast, make_summary, make_user
from tests.fakes.transcripts import short_transcript

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def premium_episode(db, site):
    user = make_user("premium", plan=Profile.Plan.PREMIUM)
    data = short_transcript()
    episode = Episode.objects.create(
        podcast=make_podcast("Garden Talk"),
        guid="b-1",
        title="Compost corner",
        pipeline_status="summarized",
        enclosure_url=f"{site.url}/static/missing-audio.mp3",  # loopback only: no outside traffic
    )
    Transcript.objects.create(episode=episode, source="whisper", segments=data["segments"], text=data["text"])
    make_summary(episode, prompt_version="v1", tldr="The old v1 summary.")
    return user, episode


def _log_in(page, site, username: str) -> None:
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-castnotes-123")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site.url}/")


def _run_worker() -> None:
    import django_rq
    from rq import SimpleWorker

    queue = django_rq.get_queue("deliveries")
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    connection.close()


def test_premium_user_regenerates_an_outdated_summary_end_to_end(browser, site, premium_episode):
    user, episode = premium_episode
    context = browser.new_context()
    page = context.new_page()
    _log_in(page, site, user.username)
    page.goto(f"{site.url}{episode.get_absolute_url()}")
    assert page.get_by_test_id("outdated").is_visible()
    button = page.get_by_test_id("regenerate")
    assert button.is_visible() and button.inner_text() == "Regenerate"

    with page.expect_response(lambda r: r.url.endswith("/regenerate/")) as response_info:
        button.click()
        # Switched by JavaScript at once, before the server answered.
        assert button.inner_text() == "Regeneration pending"
        assert button.is_disabled()
    assert response_info.value.status == 202

    page.reload()
    assert page.get_by_test_id("regen-pending").is_visible()  # from the database
    assert page.get_by_test_id("regenerate").count() == 0

    _run_worker()

    page.reload()
    new_tldr = Delivery.objects.get().summary.content["tldr"]
    assert page.get_by_text(new_tldr).first.is_visible()
    assert page.get_by_test_id("outdated").count() == 0
    assert "The old v1 summary." not in page.content()
    context.close()


def test_double_click_makes_one_delivery(browser, site, premium_episode):
    user, episode = premium_episode
    context = browser.new_context()
    page = context.new_page()
    _log_in(page, site, user.username)
    page.goto(f"{site.url}{episode.get_absolute_url()}")

    page.get_by_test_id("regenerate").dblclick()
    page.get_by_text("A fresh summary is on its way").wait_for()

    assert Delivery.objects.count() == 1
    context.close()


def test_without_javascript_the_form_posts_and_the_page_shows_pending(browser, site, premium_episode):
    user, episode = premium_episode
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    _log_in(page, site, user.username)
    page.goto(f"{site.url}{episode.get_absolute_url()}")

    page.get_by_test_id("regenerate").dblclick()
    page.get_by_test_id("regen-pending").wait_for()

    assert page.url == f"{site.url}{episode.get_absolute_url()}"
    assert Delivery.objects.count() == 1
    context.close()


def test_quote_timestamp_seeks_the_audio_player(browser, site, premium_episode):
    _, episode = premium_episode
    page = browser.new_page()
    page.goto(f"{site.url}{episode.get_absolute_url()}")
    page.eval_on_selector("#player", "el => { el.removeAttribute('src'); el.load(); }")  # no audio file in tests
    link = page.locator(".chapters a[data-seek]").last

    seek_to = float(link.get_attribute("data-seek"))
    link.click()

    assert seek_to == 75
    assert page.eval_on_selector("#player", "el => el.currentTime") == pytest.approx(seek_to)
    assert page.url.endswith(episode.get_absolute_url())  # stayed on the page
    page.close()
