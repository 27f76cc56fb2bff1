"""Ad spans on stored transcripts: the pipeline hook, re-detection, LLM spans, curator corrections."""

import pytest
from django.db import IntegrityError, transaction

from curation.models import CurationItem, CuratorAction
from podcasts.ad_spans import (
    AdSpanInvalid,
    ad_span_add,
    ad_span_reject,
    ad_span_restore,
    ad_span_store_llm,
    transcript_ad_ranges,
    transcript_detect_ad_spans,
)
from podcasts.models import AdSpan, PipelineStatus, Transcript
from podcasts.pipeline import transcript_store
from podcasts.sponsors import DETECTOR_VERSION
from summaries.context import transcript_ad_spans
from tests.factories import make_episode, make_podcast

TOSH = "ep-tosh-show-5f6894439bb6"


@pytest.fixture
def stored(db, corpus, django_capture_on_commit_callbacks):
    """The Tosh Show episode stored through the pipeline's transcript_store (which runs the detector)."""
    source = corpus[TOSH]
    episode = make_episode(
        make_podcast(), title=source.title, description=source.description, pipeline_status=PipelineStatus.TRANSCRIBING
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert transcript_store(
            episode_id=episode.pk,
            from_status=PipelineStatus.TRANSCRIBING,
            source="whisper",
            segments=source.segments,
            duration=source.duration,
        )
    return Transcript.objects.get(episode=episode)


@pytest.fixture
def curator(django_user_model):
    return django_user_model.objects.create_user("cur", password="x", is_staff=True)


def _active(transcript, origin=None):
    spans = AdSpan.objects.filter(transcript=transcript, status=AdSpan.Status.ACTIVE)
    return list(spans.filter(origin=origin) if origin else spans)


@pytest.mark.django_db
def test_storing_a_transcript_stores_its_detected_ad_spans(stored, corpus):
    spans = _active(stored, AdSpan.Origin.DETECTOR)

    assert len(spans) >= 4
    assert {s.detector_version for s in spans} == {DETECTOR_VERSION}
    assert spans[0].start < 5 and spans[0].label == "Progressive"
    assert all(0 <= s.start < s.end <= corpus[TOSH].duration for s in spans)


@pytest.mark.django_db
def test_redetection_replaces_detector_spans_and_is_idempotent(stored):
    before = [(s.start, s.end, s.label) for s in _active(stored)]

    transcript_detect_ad_spans(transcript_id=stored.pk)
    transcript_detect_ad_spans(transcript_id=stored.pk)

    assert [(s.start, s.end, s.label) for s in _active(stored)] == before
    assert AdSpan.objects.filter(transcript=stored).count() == len(before)


@pytest.mark.django_db
def test_not_an_ad_survives_redetection(stored, curator):
    wrong = _active(stored)[1]

    assert ad_span_reject(ad_span=wrong, actor=curator, reason="host chatter")
    transcript_detect_ad_spans(transcript_id=stored.pk)
    transcript_detect_ad_spans(transcript_id=stored.pk)

    wrong.refresh_from_db()
    assert wrong.status == AdSpan.Status.REJECTED_BY_CURATOR
    assert not [s for s in _active(stored) if s.start < wrong.end and wrong.start < s.end]
    assert all(r.start >= wrong.end or r.end <= wrong.start for r in transcript_ad_ranges(transcript_id=stored.pk))


@pytest.mark.django_db
def test_curator_added_span_survives_redetection(stored, curator):
    added = ad_span_add(transcript_id=stored.pk, start=300.0, end=345.5, label="Patreon", actor=curator, reason="missed")

    transcript_detect_ad_spans(transcript_id=stored.pk)

    added.refresh_from_db()
    assert (added.origin, added.status, added.label) == (AdSpan.Origin.CURATOR, AdSpan.Status.ACTIVE, "Patreon")
    assert (300.0, 345.5) in [(r.start, r.end) for r in transcript_ad_ranges(transcript_id=stored.pk)]


@pytest.mark.django_db
def test_each_correction_writes_one_curator_action(stored, curator):
    span = _active(stored)[0]

    assert ad_span_reject(ad_span=span, actor=curator, reason="r1")
    assert not ad_span_reject(ad_span=span, actor=curator)  # already rejected: nothing logged
    assert ad_span_restore(ad_span=span, actor=curator, reason="r2")
    added = ad_span_add(transcript_id=stored.pk, start=100, end=120, actor=curator, reason="r3")

    actions = list(
        CuratorAction.objects.order_by("id").values_list("action", "from_state", "to_state", "reason", "object_id", "actor_label")
    )
    assert actions == [
        ("ad_span_reject", "active", "rejected_by_curator", "r1", str(span.pk), "cur"),
        ("ad_span_restore", "rejected_by_curator", "active", "r2", str(span.pk), "cur"),
        ("ad_span_add", "", "active", "r3", str(added.pk), "cur"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("start, end", [(-1, 10), (50, 50), (60, 40), (99_999, 100_000), ("soon", 10), (float("nan"), 5)])
def test_curator_span_outside_the_transcript_is_refused(stored, curator, start, end):
    with pytest.raises(AdSpanInvalid):
        ad_span_add(transcript_id=stored.pk, start=start, end=end, actor=curator)

    assert not CuratorAction.objects.exists()


@pytest.mark.django_db
def test_llm_spans_that_do_not_fit_the_transcript_are_dropped_and_flagged(stored, corpus):
    reply = [
        {"start": 1200.0, "end": 1260.0, "label": "Squarespace"},
        {"start": -4, "end": 20},
        {"start": 5000, "end": 5100},
        {"start": "1:00", "end": 90},
        {"start": 400, "end": 390},
        "not a span",
    ]

    result = ad_span_store_llm(transcript_id=stored.pk, spans=reply, model="claude-haiku-4-5")

    assert [(s.start, s.end, s.label, s.origin) for s in result.stored] == [(1200.0, 1260.0, "Squarespace", "llm")]
    assert len(result.dropped) == 5
    item = CurationItem.objects.get(flag_class="malformed_llm_output")
    assert len(item.evidence["dropped_ad_spans"]) == 5
    # The next reply replaces the LLM's spans, and the detector's are untouched.
    detector = len(_active(stored, AdSpan.Origin.DETECTOR))
    ad_span_store_llm(transcript_id=stored.pk, spans=[], model="claude-haiku-4-5")
    assert _active(stored, AdSpan.Origin.LLM) == []
    assert len(_active(stored, AdSpan.Origin.DETECTOR)) == detector


@pytest.mark.django_db
def test_llm_span_over_a_curator_rejection_is_not_stored(stored, curator):
    wrong = _active(stored)[0]
    ad_span_reject(ad_span=wrong, actor=curator)

    result = ad_span_store_llm(transcript_id=stored.pk, spans=[{"start": wrong.start, "end": wrong.end}], model="m")

    assert result.stored == [] and result.dropped == []


@pytest.mark.django_db
def test_database_refuses_a_span_that_ends_before_it_starts(stored):
    with pytest.raises(IntegrityError), transaction.atomic():
        AdSpan.objects.create(transcript=stored, start=10, end=5, origin=AdSpan.Origin.DETECTOR)
    with pytest.raises(IntegrityError), transaction.atomic():
        AdSpan.objects.create(transcript=stored, start=-1, end=5, origin=AdSpan.Origin.DETECTOR)


@pytest.mark.django_db
def test_a_detector_fault_keeps_the_transcript(django_capture_on_commit_callbacks, caplog):
    """Segments the detector cannot read (a start that is not a number): the transcript is stored, without spans."""
    episode = make_episode(make_podcast(), pipeline_status=PipelineStatus.TRANSCRIBING)
    segments = [{"start": "soon", "end": 3.0, "text": "Brought to you by Example.com."}]

    with django_capture_on_commit_callbacks(execute=False):
        assert transcript_store(
            episode_id=episode.pk, from_status=PipelineStatus.TRANSCRIBING, source="publisher", segments=segments
        )

    transcript = Transcript.objects.get(episode=episode)
    assert not transcript.ad_spans.exists()
    assert "ad_detect_error" in caplog.text


@pytest.mark.django_db
def test_admin_marks_not_an_ad_and_adds_a_span_through_the_services(stored, admin_client):
    span = _active(stored)[0]

    response = admin_client.post(
        "/admin/podcasts/adspan/", {"action": "mark_not_an_ad", "_selected_action": [span.pk]}, follow=True
    )
    assert response.status_code == 200
    span.refresh_from_db()
    assert span.status == AdSpan.Status.REJECTED_BY_CURATOR

    response = admin_client.post(
        "/admin/podcasts/adspan/add/",
        {"transcript": stored.pk, "start": "700", "end": "730", "label": "Mid-roll", "reason": "missed"},
    )
    assert response.status_code == 302
    assert AdSpan.objects.get(origin=AdSpan.Origin.CURATOR).label == "Mid-roll"
    assert list(CuratorAction.objects.order_by("id").values_list("action", flat=True)) == ["ad_span_reject", "ad_span_add"]

    response = admin_client.post("/admin/podcasts/adspan/add/", {"transcript": stored.pk, "start": "9000", "end": "9010"})
    assert response.status_code == 200  # the form again, with the error
    assert b"outside the transcript" in response.content


@pytest.mark.django_db
def test_summaries_read_the_detector_s_edges_as_estimates_and_a_curator_s_as_exact(stored, curator):
    ad_span_add(transcript_id=stored.pk, start=300.0, end=345.5, label="Mug", actor=curator, reason="missed")

    spans = transcript_ad_spans(stored)

    assert (300.0, 345.5, "Mug", False) in spans
    detector = [s for s in spans if s[:2] != (300.0, 345.5)]
    assert detector and all(uncertain for *_, uncertain in detector)
