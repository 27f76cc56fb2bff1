import pytest

from curation.models import CurationItem
from curation.services import enqueue_for_review
from podcasts.models import Podcast
from tests.support.concurrency import raised, run_at_once


@pytest.fixture
def podcast(db):
    return Podcast.objects.create(feed_url="https://example.com/feed.xml", title="Example")


def test_repeat_flag_bumps_the_open_item_instead_of_adding_one(podcast):
    first = enqueue_for_review(target=podcast, flag_class="feed_broken", severity="P1", evidence={"error": "a"})
    second = enqueue_for_review(target=podcast, flag_class="feed_broken", severity="P1", evidence={"error": "b"})

    assert first.pk == second.pk
    assert CurationItem.objects.count() == 1
    assert second.occurrences == 2
    assert second.evidence == {"error": "b"}


def test_resolved_item_lets_a_new_one_open(podcast):
    item = enqueue_for_review(target=podcast, flag_class="feed_broken", severity="P1")
    CurationItem.objects.filter(pk=item.pk).update(status=CurationItem.Status.RESOLVED)

    again = enqueue_for_review(target=podcast, flag_class="feed_broken", severity="P1")

    assert again.pk != item.pk
    assert CurationItem.objects.count() == 2


def test_different_flag_classes_are_separate_items(podcast):
    enqueue_for_review(target=podcast, flag_class="feed_broken", severity="P1")
    enqueue_for_review(target=podcast, flag_class="feed_submission", severity="P2")

    assert CurationItem.objects.count() == 2


def test_unknown_flag_class_is_refused(podcast):
    with pytest.raises(ValueError, match="unknown flag class"):
        enqueue_for_review(target=podcast, flag_class="made_up", severity="P1")


def test_evidence_snapshot_survives_deleting_the_object(podcast):
    item = enqueue_for_review(target=podcast, flag_class="feed_broken", severity="P1", evidence={"feed_url": podcast.feed_url})
    podcast.delete()

    item.refresh_from_db()
    assert item.object_repr == "Example"
    assert item.evidence == {"feed_url": "https://example.com/feed.xml"}
    assert item.content_object is None


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_flags_make_one_open_item():
    podcast = Podcast.objects.create(feed_url="https://example.com/race.xml", title="Race")
    results = run_at_once(*[lambda: enqueue_for_review(target=podcast, flag_class="job_failed", severity="P0")] * 8)

    assert raised(results) == []
    item = CurationItem.objects.get()
    assert item.occurrences == 8
