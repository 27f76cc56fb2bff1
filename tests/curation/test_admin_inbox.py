from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from curation.models import CurationItem, CuratorAction
from curation.services import curation_item_dismiss, enqueue_for_review
from podcasts.models import Episode, Podcast
from tests.factories import make_summary

INBOX = "/admin/curation/curationitem/"


def flag(target, flag_class="feed_broken", severity="P1", age_minutes=0, **kwargs) -> CurationItem:
    item = enqueue_for_review(target=target, flag_class=flag_class, severity=severity, **kwargs)
    CurationItem.objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(minutes=age_minutes))
    return item


def listed(response) -> list[int]:
    return [item.pk for item in response.context["cl"].result_list]


@pytest.fixture
def curator_client(client_for, curator):
    return client_for(curator)


def test_default_view_lists_open_items_by_severity_then_age(curator_client, podcast, episode, curator):
    p1_old = flag(podcast, "feed_broken", "P1", age_minutes=30)
    p0_new = flag(episode, "job_failed", "P0", age_minutes=1)
    p0_old = flag(podcast, "feed_submission", "P0", age_minutes=60)
    p2 = flag(episode, "low_confidence_transcript", "P2", age_minutes=90)
    closed = flag(episode, "duplicate_audio", "P0")
    curation_item_dismiss(closed, actor=curator, reason="")

    response = curator_client.get(INBOX)

    assert listed(response) == [p0_old.pk, p0_new.pk, p1_old.pk, p2.pk]


def test_all_statuses_put_open_items_first(curator_client, podcast, episode, curator):
    closed_p0 = flag(episode, "duplicate_audio", "P0", age_minutes=100)
    curation_item_dismiss(closed_p0, actor=curator, reason="")
    open_p2 = flag(podcast, "feed_broken", "P2")

    response = curator_client.get(INBOX, {"status": "all"})

    assert listed(response) == [open_p2.pk, closed_p0.pk]


def test_filters_by_status_severity_flag_class_and_kind(curator_client, podcast, episode, curator):
    on_podcast = flag(podcast, "feed_broken", "P1")
    on_episode = flag(episode, "job_failed", "P0")
    dismissed = flag(episode, "duplicate_audio", "P2")
    curation_item_dismiss(dismissed, actor=curator, reason="")
    episode_kind = str(on_episode.content_type_id)

    assert listed(curator_client.get(INBOX, {"severity__exact": "P0"})) == [on_episode.pk]
    assert listed(curator_client.get(INBOX, {"flag_class__exact": "feed_broken"})) == [on_podcast.pk]
    assert listed(curator_client.get(INBOX, {"kind": episode_kind})) == [on_episode.pk]
    assert listed(curator_client.get(INBOX, {"status": "dismissed"})) == [dismissed.pk]


def test_kind_filter_offers_only_kinds_with_open_items(curator_client, podcast, summary, curator):
    flag(podcast, "feed_broken", "P1")
    closed = flag(summary, "unverified_quote", "P1")
    curation_item_dismiss(closed, actor=curator, reason="")

    response = curator_client.get(INBOX)

    kind_filter = next(f for f in response.context["cl"].filter_specs if getattr(f, "parameter_name", "") == "kind")
    assert [name for _, name in kind_filter.lookup_choices] == ["Podcast"]


def test_facet_counts_are_shown_on_request(curator_client, podcast, episode, curator):
    flag(podcast, "feed_broken", "P1")
    flag(episode, "job_failed", "P0")
    flag(episode, "low_confidence_transcript", "P0")
    curation_item_dismiss(flag(episode, "duplicate_audio", "P0"), actor=curator, reason="")

    content = curator_client.get(INBOX, {"_facets": "True"}).content.decode()

    assert "Open (3)" in content
    assert "P0 — broken (2)" in content
    assert "Job failed (1)" in content
    assert "Dismissed (1)" in content and "All (4)" in content
    assert "Podcast (1)" in content and "Episode (2)" in content


def test_search_finds_items_by_object_name(curator_client, podcast, episode):
    other = Podcast.objects.create(feed_url="https://example.com/other.xml", title="Other Radio")
    flag(podcast, "feed_broken", "P1")
    wanted = flag(other, "feed_broken", "P1")

    assert listed(curator_client.get(INBOX, {"q": "other radio"})) == [wanted.pk]


def test_rows_link_to_the_flagged_objects_admin_page(curator_client, episode, podcast):
    flag(episode, "job_failed", "P0")
    flag(podcast, "feed_broken", "P1")

    content = curator_client.get(INBOX).content.decode()

    assert f'href="/admin/podcasts/episode/{episode.pk}/change/"' in content
    assert f'href="/admin/podcasts/podcast/{podcast.pk}/change/"' in content


def test_object_without_an_admin_page_is_named_without_a_link(curator_client):
    from django.contrib.sessions.models import Session

    session = Session.objects.get()  # the curator's login; sessions have no admin page
    flag(session, "feed_broken", "P2")

    content = curator_client.get(INBOX).content.decode()

    assert f"session {session.pk}" in content
    assert "/admin/sessions/" not in content


def test_evidence_is_pretty_printed_and_escaped(curator_client, summary):
    item = flag(summary, "malformed_llm_output", "P1", evidence={"reply": "<script>alert(1)</script>", "n": 1})

    content = curator_client.get(f"{INBOX}{item.pk}/change/").content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)</script>" not in content
    assert "{\n  &quot;n&quot;: 1," in content


def test_evidence_still_reads_after_the_object_is_deleted(curator_client, episode):
    item = flag(episode, "job_failed", "P0", evidence={"title": "Episode One", "error": "boom"})
    episode.delete()

    inbox = curator_client.get(INBOX)
    page = curator_client.get(f"{INBOX}{item.pk}/change/").content.decode()

    assert listed(inbox) == [item.pk]
    assert "Episode One" in page and "boom" in page


def test_action_reports_illegal_moves_per_item(curator_client, podcast, episode, curator):
    open_item = flag(podcast, "feed_broken", "P1")
    closed = flag(episode, "job_failed", "P0")
    curation_item_dismiss(closed, actor=curator, reason="")

    response = curator_client.post(
        f"{INBOX}?status=all",
        {"action": "escalate", "_selected_action": [open_item.pk, closed.pk], "reason": "needs ops"},
    )

    assert response.status_code == HTTPStatus.FOUND
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Escalated: 1 done." in texts
    assert any(f"Item {closed.pk} is dismissed: it cannot move to escalated" in t for t in texts)
    assert CurationItem.objects.get(pk=open_item.pk).status == "escalated"
    assert CuratorAction.objects.filter(action="curation_item_escalate").get().reason == "needs ops"


def test_resolve_action_carries_out_the_proposed_action(curator_client, episode):
    summary = make_summary(episode, editorial_status="published", prompt_version="v2")
    item = flag(summary, "unverified_quote", "P1", proposed_action="hide_summary")

    curator_client.post(INBOX, {"action": "resolve", "_selected_action": [item.pk], "reason": "bad quote"})

    summary.refresh_from_db()
    assert summary.editorial_status == "hidden"
    assert CurationItem.objects.get(pk=item.pk).status == "resolved"


def test_decision_button_reports_an_illegal_move(curator_client, podcast, curator):
    item = flag(podcast, "feed_broken", "P1")
    curation_item_dismiss(item, actor=curator, reason="")

    response = curator_client.post(f"{INBOX}{item.pk}/change/", {"_decision": "resolve"}, follow=True)

    assert f"Item {item.pk} is dismissed: it cannot be resolved from there." in response.content.decode()


def test_summary_change_page_shows_its_log_and_refuses_raw_edits(curator_client, summary, curator):
    from curation.services import editorial_transition

    editorial_transition(summary, "published", actor=curator, reason="ready to go")

    page = curator_client.get(f"/admin/summaries/summary/{summary.pk}/change/").content.decode()
    curator_client.post(f"/admin/summaries/summary/{summary.pk}/change/", {"editorial_status": "featured"})

    assert "ready to go" in page
    assert 'name="editorial_status"' not in page
    assert 'value="featured"' in page  # the button for the next allowed move
    summary.refresh_from_db()
    assert summary.editorial_status == "published"


def test_history_page_of_any_object_lists_its_curator_actions(curator_client, episode, curator):
    from curation.services import curation_item_resolve

    item = flag(episode, "job_failed", "P0")
    curation_item_resolve(item, actor=curator, resolution="looked into it", carry_out=False)

    page = curator_client.get(f"/admin/podcasts/episode/{episode.pk}/history/").content.decode()

    assert "curation_item_resolve" in page and "looked into it" in page


@pytest.mark.parametrize("query", [{}, {"_facets": "True"}, {"status": "all"}, {"severity__exact": "P0"}])
def test_inbox_query_count_does_not_grow_with_items(curator_client, podcast, query):
    def queries_for_inbox() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert curator_client.get(INBOX, query).status_code == HTTPStatus.OK
        return len(ctx.captured_queries)

    episodes = [Episode.objects.create(podcast=podcast, guid=f"g{i}", title=f"E{i}") for i in range(30)]
    for episode in episodes[:3]:
        flag(episode, "job_failed", "P0")
    few = queries_for_inbox()
    for episode in episodes[3:]:
        flag(episode, "job_failed", "P0")
        flag(episode, "low_confidence_transcript", "P2")
    many = queries_for_inbox()

    assert many == few
    assert many <= 20


def test_history_page_of_an_item_lists_the_decisions_on_it(curator_client, podcast, curator):
    from curation.services import curation_item_escalate

    item = flag(podcast, "feed_broken", "P1")
    curation_item_escalate(item, actor=curator, reason="ask the operator")

    page = curator_client.get(f"{INBOX}{item.pk}/history/").content.decode()

    assert "curation_item_escalate" in page and "ask the operator" in page


def test_facet_counts_follow_the_other_active_filters(curator_client, podcast, episode):
    flag(podcast, "feed_broken", "P1")
    flag(episode, "job_failed", "P0")
    flag(episode, "low_confidence_transcript", "P0")

    content = curator_client.get(INBOX, {"_facets": "True", "severity__exact": "P0"}).content.decode()

    # Flag classes and kinds are counted within P0; severity itself still counts every severity.
    assert "Broken feed (0)" in content and "Job failed (1)" in content
    assert "Podcast (0)" in content and "Episode (2)" in content
    assert "P1 — wrong (1)" in content and "P0 — broken (2)" in content
    assert "Open (2)" in content


@pytest.mark.parametrize("kind", ["9" * 30, "٣", "-1"])
def test_a_kind_filter_value_that_is_no_small_integer_lists_without_a_500(curator_client, podcast, curator, kind):
    """Issue 17, defect 4: every number from a request is bounded (30 digits overflow SQLite)."""
    item = flag(podcast)

    response = curator_client.get(INBOX, {"kind": kind})

    assert response.status_code == 200
    assert listed(response) in ([], [item.pk])
