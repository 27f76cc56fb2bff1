"""The ad spans a summary was made without are part of its source: a curator's correction
makes it outdated (Outdated and Regenerate on the page, a new summary when regenerated);
re-detection that finds the same spans changes nothing."""

import pytest

from podcasts.ad_spans import ad_span_add, transcript_detect_ad_spans
from podcasts.models import AdSpan
from summaries.generation import summary_generate
from summaries.selectors import summary_is_outdated
from tests.factories import make_transcribed_episode, make_user
from tests.support.corpus import fixture_episode

pytestmark = pytest.mark.django_db

DTNS = "ep-daily-tech-news-show-c1904b8605f7"


@pytest.fixture
def summarized(extractive, settings):
    """A real episode with the detector's spans stored and a current extractive summary."""
    settings.SUMMARY_PROMPT_VERSION = "v3"
    corpus = fixture_episode(DTNS)
    text = " ".join(s["text"] for s in corpus.segments)
    episode = make_transcribed_episode(guid="dtns", title=corpus.title, transcript={"segments": corpus.segments, "text": text})
    spans = transcript_detect_ad_spans(transcript_id=episode.transcript.pk)
    assert spans  # the episode has sponsor reads for a curator to correct
    summary = summary_generate(episode=episode, prompt_version="v3", provider="extractive")
    return episode, summary


def test_a_new_summary_records_the_spans_it_was_made_without_and_is_current(summarized):
    episode, summary = summarized

    spans = AdSpan.objects.filter(transcript=episode.transcript).order_by("start")
    assert summary.ad_spans == [[round(s.start, 2), round(s.end, 2)] for s in spans]
    assert not summary_is_outdated(summary)


def test_redetection_with_the_same_spans_leaves_the_summary_current_and_reused(summarized):
    episode, summary = summarized

    transcript_detect_ad_spans(transcript_id=episode.transcript.pk)
    transcript_detect_ad_spans(transcript_id=episode.transcript.pk)

    summary.refresh_from_db()
    assert not summary_is_outdated(summary)
    assert summary_generate(episode=episode, prompt_version="v3", provider="extractive").pk == summary.pk


def test_a_curator_marking_not_an_ad_in_the_admin_makes_the_summary_outdated(summarized, client):
    episode, summary = summarized
    curator = make_user("curator-ads", is_staff=True, is_superuser=True)
    client.force_login(curator)
    span = AdSpan.objects.filter(transcript=episode.transcript).order_by("start").first()

    client.post("/admin/podcasts/adspan/", {"action": "mark_not_an_ad", "_selected_action": [span.pk]}, follow=True)

    span.refresh_from_db()
    assert span.status == AdSpan.Status.REJECTED_BY_CURATOR
    assert summary_is_outdated(summary)
    page = client.get(episode.get_absolute_url()).content.decode()
    assert 'data-testid="outdated"' in page and "Regenerate" in page
    # Regenerating (or the next summarize) is a new summary made without the remaining spans only.
    fresh = summary_generate(episode=episode, prompt_version="v3", provider="extractive")
    assert fresh.pk != summary.pk and fresh.source_hash != summary.source_hash
    assert [round(span.start, 2), round(span.end, 2)] not in fresh.ad_spans
    assert not summary_is_outdated(fresh)
    # Re-detection finds the rejected read again; the correction is sticky, so nothing moves.
    transcript_detect_ad_spans(transcript_id=episode.transcript.pk)
    assert not summary_is_outdated(fresh)


def test_a_curator_adding_a_span_makes_the_summary_outdated(summarized):
    episode, summary = summarized
    curator = make_user("curator-add", is_staff=True)

    ad_span_add(transcript_id=episode.transcript.pk, start=300.0, end=330.0, label="Acme", actor=curator, reason="missed read")

    assert summary_is_outdated(summary)


def test_a_summary_that_recorded_no_spans_is_judged_by_its_prompt_version_alone(summarized):
    episode, summary = summarized
    summary.ad_spans = None
    summary.save(update_fields=["ad_spans"])
    AdSpan.objects.filter(transcript=episode.transcript).delete()

    assert not summary_is_outdated(summary)
