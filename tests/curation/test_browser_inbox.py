"""A curator works the inbox in a real browser (headless Chromium from Debian's package)."""

import re

import pytest
from playwright.sync_api import expect

from curation.models import CurationItem, CuratorAction
from curation.services import enqueue_for_review
from summaries.models import Summary
from tests.factories import PASSWORD, make_summary


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_curator_filters_to_p0_resolves_and_sees_the_action_in_history(browser, live_server, curator, episode, podcast):
    # Arrange (before the browser starts: its event loop would make ORM calls here async-unsafe).
    summary = make_summary(episode, editorial_status="published", prompt_version="v2")
    p0 = enqueue_for_review(
        target=summary,
        flag_class="unverified_quote",
        severity="P0",
        proposed_action="hide_summary",
        evidence={"quote": "words never said", "start": 12.5},
        proposed_by="summaries:quotes",
    )
    p1 = enqueue_for_review(target=podcast, flag_class="feed_broken", severity="P1", evidence={"status": 500})

    # Act
    page = browser.new_page()
    try:
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/curation/curationitem/")
        page.fill("#id_username", curator.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit], button[type=submit]")
        expect(page.locator("#result_list")).to_be_visible()
        expect(page.locator(f"input[name=_selected_action][value='{p1.pk}']")).to_be_visible()

        page.get_by_role("link", name=re.compile(r"^P0 — broken")).click()
        expect(page).to_have_url(re.compile(r"severity__exact=P0"))
        expect(page.locator("input[name=_selected_action]")).to_have_count(1)
        page.check(f"input[name=_selected_action][value='{p0.pk}']")
        page.select_option("select[name=action]", "resolve")
        page.fill("input[name=reason]", "quote is not in the transcript")
        page.get_by_role("button", name="Go").click()
        expect(page.locator(".messagelist")).to_contain_text("Resolved: 1 done.")

        page.goto(f"{live_server.url}/admin/summaries/summary/{summary.pk}/history/")
        history = page.locator("#curator-history")
        expect(history).to_contain_text("curation_item_resolve")
        expect(history).to_contain_text("quote is not in the transcript [summary hidden]")
        expect(history).to_contain_text("editorial_transition")
        page.goto(f"{live_server.url}/admin/summaries/summary/{summary.pk}/change/")
        expect(page.locator("body")).to_contain_text("curation_item_resolve")
    finally:
        page.close()

    # Assert
    assert CurationItem.objects.get(pk=p0.pk).status == "resolved"
    assert CurationItem.objects.get(pk=p1.pk).status == "pending"
    assert Summary.objects.get(pk=summary.pk).editorial_status == "hidden"
    logged = list(
        CuratorAction.objects.filter(content_type__model="summary", object_id=str(summary.pk))
        .order_by("id")
        .values_list("action", "actor")
    )
    assert logged == [("editorial_transition", curator.pk), ("curation_item_resolve", curator.pk)]
