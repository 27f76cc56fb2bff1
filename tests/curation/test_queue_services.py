import pytest
from django.contrib.contenttypes.models import ContentType

from curation.models import CurationItem, CuratorAction
from curation.services import (
    QUEUE_MOVES,
    IllegalQueueMove,
    ProposedActionFailed,
    curation_item_assign,
    curation_item_dismiss,
    curation_item_escalate,
    curation_item_reopen,
    curation_item_resolve,
    curation_item_start_review,
    enqueue_for_review,
)
from podcasts.models import Episode, Transcript
from podcasts.pipeline import episode_claim, episode_record_failure
from summaries.models import Summary
from tests.support.httpserver import Route

MOVES = {
    "in_review": lambda item, user: curation_item_start_review(item, actor=user),
    "resolved": lambda item, user: curation_item_resolve(item, actor=user, resolution="done", carry_out=False),
    "dismissed": lambda item, user: curation_item_dismiss(item, actor=user, reason="false alarm"),
    "escalated": lambda item, user: curation_item_escalate(item, actor=user, reason="needs an operator"),
    "pending": lambda item, user: curation_item_reopen(item, actor=user),
}
# From DESIGN.md: open items can be reviewed, resolved, dismissed, escalated; closed ones are final.
ALLOWED = {
    ("pending", "in_review"),
    ("pending", "resolved"),
    ("pending", "dismissed"),
    ("pending", "escalated"),
    ("in_review", "pending"),
    ("in_review", "resolved"),
    ("in_review", "dismissed"),
    ("in_review", "escalated"),
    ("escalated", "in_review"),
    ("escalated", "resolved"),
    ("escalated", "dismissed"),
}
STATES = list(CurationItem.Status.values)


def make_item(target, status="pending", flag_class="feed_broken", proposed_action="", severity="P1") -> CurationItem:
    item = enqueue_for_review(
        target=target,
        flag_class=flag_class,
        severity=severity,
        proposed_action=proposed_action,
        evidence={"note": "x"},
    )
    CurationItem.objects.filter(pk=item.pk).update(status=status)
    item.refresh_from_db()
    return item


def test_queue_map_is_exactly_the_designed_one():
    assert {(a, b) for a, targets in QUEUE_MOVES.items() for b in targets} == ALLOWED


@pytest.mark.parametrize(("start", "to"), sorted(ALLOWED))
def test_allowed_queue_move_writes_one_action(podcast, curator, start, to):
    item = make_item(podcast, start)

    assert MOVES[to](item, curator) is True

    item.refresh_from_db()
    assert item.status == to
    action = CuratorAction.objects.get()
    assert (action.curation_item, action.from_state, action.to_state, action.actor) == (item, start, to, curator)
    # The log names the flagged object, so the decision shows in its history.
    assert (action.content_type, action.object_id) == (ContentType.objects.get_for_model(podcast), str(podcast.pk))


@pytest.mark.parametrize(("start", "to"), sorted({(a, b) for a in STATES for b in MOVES if a != b} - ALLOWED))
def test_illegal_queue_move_raises_and_writes_nothing(podcast, curator, start, to):
    item = make_item(podcast, start)

    with pytest.raises(IllegalQueueMove, match=f"Item {item.pk} is"):
        MOVES[to](item, curator)

    item.refresh_from_db()
    assert item.status == start
    assert CuratorAction.objects.count() == 0


@pytest.mark.parametrize("state", sorted(MOVES))
def test_repeating_a_queue_move_is_a_no_op(podcast, curator, state):
    item = make_item(podcast, state)

    assert MOVES[state](item, curator) is False
    assert CuratorAction.objects.count() == 0


def test_start_review_takes_an_unassigned_item_and_keeps_an_assigned_one(podcast, curator, superuser):
    first = make_item(podcast)
    curation_item_start_review(first, actor=curator)
    second = make_item(podcast, flag_class="feed_submission")
    curation_item_assign(second, actor=superuser, assignee=superuser)
    curation_item_start_review(second, actor=curator)

    assert first.assigned_to == curator
    assert CurationItem.objects.get(pk=second.pk).assigned_to == superuser


def test_assign_logs_once_and_repeat_is_a_no_op(podcast, curator):
    item = make_item(podcast)

    assert curation_item_assign(item, actor=curator) is True
    assert curation_item_assign(item, actor=curator) is False

    assert CurationItem.objects.get(pk=item.pk).assigned_to == curator
    assert CuratorAction.objects.get().action == "curation_item_assign"


def test_closed_item_cannot_be_assigned(podcast, curator):
    item = make_item(podcast, "dismissed")

    with pytest.raises(IllegalQueueMove, match="only open items can be assigned"):
        curation_item_assign(item, actor=curator)


def test_resolve_records_who_when_and_why(podcast, curator):
    item = make_item(podcast)

    curation_item_resolve(item, actor=curator, resolution="feed fixed upstream", carry_out=False)

    stored = CurationItem.objects.get(pk=item.pk)
    assert stored.resolved_by == curator
    assert stored.resolved_at is not None
    assert stored.resolution == "feed fixed upstream"


def test_a_resolved_item_lets_the_producer_open_a_new_one(podcast, curator):
    item = make_item(podcast)
    curation_item_resolve(item, actor=curator, resolution="ok", carry_out=False)

    again = enqueue_for_review(target=podcast, flag_class="feed_broken", severity="P1")

    assert again.pk != item.pk and again.status == "pending"


def test_resolve_hides_the_summary_with_an_unverified_quote(summary, curator):
    Summary.objects.filter(pk=summary.pk).update(editorial_status="published")
    item = make_item(summary, flag_class="unverified_quote", proposed_action="hide_summary")

    curation_item_resolve(item, actor=curator, resolution="quote not in transcript")

    assert Summary.objects.get(pk=summary.pk).editorial_status == "hidden"
    actions = list(CuratorAction.objects.order_by("id").values_list("action", "from_state", "to_state"))
    assert actions == [
        ("editorial_transition", "published", "hidden"),
        ("curation_item_resolve", "pending", "resolved"),
    ]
    assert CurationItem.objects.get(pk=item.pk).resolution == "quote not in transcript [summary hidden]"


def test_resolve_whose_action_is_illegal_leaves_everything_open(summary, curator):
    Summary.objects.filter(pk=summary.pk).update(editorial_status="retired")
    item = make_item(summary, flag_class="unverified_quote", proposed_action="hide_summary")

    with pytest.raises(Exception, match="cannot move from retired to hidden"):
        curation_item_resolve(item, actor=curator, resolution="")

    assert CurationItem.objects.get(pk=item.pk).status == "pending"
    assert CuratorAction.objects.count() == 0


def test_resolve_without_acting_skips_the_proposed_action(summary, curator):
    Summary.objects.filter(pk=summary.pk).update(editorial_status="published")
    item = make_item(summary, flag_class="unverified_quote", proposed_action="hide_summary")

    curation_item_resolve(item, actor=curator, resolution="quote is fine", carry_out=False)

    assert Summary.objects.get(pk=summary.pk).editorial_status == "published"
    assert CurationItem.objects.get(pk=item.pk).status == "resolved"


@pytest.mark.parametrize(
    ("has_audio", "has_transcript", "expected"),
    [(False, False, "new"), (True, False, "downloaded"), (True, True, "transcribed")],
)
def test_resolve_retries_a_failed_job_from_the_stage_it_failed_in(episode, curator, has_audio, has_transcript, expected):
    working = {"new": "downloading", "downloaded": "transcribing", "transcribed": "summarizing"}[expected]
    if has_audio:
        Episode.objects.filter(pk=episode.pk).update(audio_path="audio/1.mp3", pipeline_status=expected)
    if has_transcript:
        Transcript.objects.create(episode=episode, source="whisper", text="hello", segments=[])
    episode_claim(episode_id=episode.pk, from_status=expected, to_status=working)
    episode_record_failure(episode_id=episode.pk, working_status=working, error="boom", permanent=True)
    item = CurationItem.objects.get(flag_class="job_failed")

    curation_item_resolve(item, actor=curator, resolution="transient, retry")

    stored = Episode.objects.get(pk=episode.pk)
    assert (stored.pipeline_status, stored.attempts, stored.retry_after) == (expected, 0, None)
    assert CurationItem.objects.get(pk=item.pk).resolution == f"transient, retry [episode back to {expected}]"


def test_retry_of_an_episode_that_is_no_longer_failed_is_refused(episode, curator):
    item = make_item(episode, flag_class="job_failed", proposed_action="retry_job", severity="P0")

    with pytest.raises(ProposedActionFailed, match="no longer failed"):
        curation_item_resolve(item, actor=curator, resolution="")

    assert CurationItem.objects.get(pk=item.pk).status == "pending"


def test_proposed_action_on_a_deleted_object_is_refused_with_its_snapshot_name(episode, curator):
    item = make_item(episode, flag_class="job_failed", proposed_action="retry_job", severity="P0")
    episode.delete()

    with pytest.raises(ProposedActionFailed, match="Episode One .* no longer exists"):
        curation_item_resolve(item, actor=curator, resolution="")

    # Resolving without the action still works; the log keeps the snapshot name.
    curation_item_resolve(item, actor=curator, resolution="episode gone", carry_out=False)
    assert CuratorAction.objects.get().target_repr == "Episode One"


SUBMITTED_FEED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Submitted Show</title>
<item><guid>s-1</guid><title>Pilot</title></item>
</channel></rss>"""


def test_resolving_a_feed_submission_approves_and_ingests_it(http_server, curator):
    from podcasts.models import Podcast
    from podcasts.services import podcast_submit

    http_server.routes["/submitted.xml"] = Route(SUBMITTED_FEED, headers={"Content-Type": "application/rss+xml"})
    podcast = podcast_submit(feed_url=http_server.url("/submitted.xml"), user=curator)
    item = CurationItem.objects.get(flag_class="feed_submission")

    curation_item_resolve(item, actor=curator, resolution="good show")

    podcast.refresh_from_db()
    assert podcast.status == Podcast.Status.ACTIVE
    assert podcast.title == "Submitted Show"
    assert list(podcast.episodes.values_list("title", flat=True)) == ["Pilot"]
    assert CurationItem.objects.get(pk=item.pk).status == "resolved"


def test_resolving_a_submission_whose_feed_fails_keeps_the_item_open(http_server, curator):
    from podcasts.services import podcast_submit

    http_server.routes["/broken.xml"] = Route(b"<html><body>not a feed</body></html>", headers={"Content-Type": "text/html"})
    podcast_submit(feed_url=http_server.url("/broken.xml"), user=curator)
    item = CurationItem.objects.get(flag_class="feed_submission")

    with pytest.raises(ProposedActionFailed):
        curation_item_resolve(item, actor=curator, resolution="")

    assert CurationItem.objects.get(pk=item.pk).status == "pending"


def test_proposed_action_without_a_handler_is_refused(episode, curator, monkeypatch):
    from curation import services

    monkeypatch.delitem(services._PROPOSED_ACTIONS, "retranscribe")  # as before an app registers it
    item = make_item(episode, flag_class="low_confidence_transcript", proposed_action="retranscribe", severity="P2")

    with pytest.raises(ProposedActionFailed, match="No handler carries out 'retranscribe'"):
        curation_item_resolve(item, actor=curator, resolution="")


def test_proposed_action_on_the_wrong_kind_of_object_is_refused(podcast, curator):
    item = make_item(podcast, flag_class="feed_broken", proposed_action="hide_summary")

    with pytest.raises(ProposedActionFailed, match="not a summaries.summary"):
        curation_item_resolve(item, actor=curator, resolution="")
