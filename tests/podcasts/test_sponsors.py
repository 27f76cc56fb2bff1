"""The offline sponsor detector on real corpus episodes (tests/fixtures/sponsors, MinusPod's corpus, MIT).

Detection is judged the way bench/quality.py judges it: on episodes of
podcasts the model was not fitted on, with MinusPod's span metric.
"""

import pytest

from podcasts.sponsors import DETECTOR_VERSION, DetectedAdSpan, detect_ad_spans, load_model
from podcasts.sponsors.corpus import parse_truth
from podcasts.sponsors.metric import merge_spans, score_spans
from tests.support.sponsors import NO_AD_EPISODE


def _detect(episode, model=None):
    return detect_ad_spans(episode.segments, title=episode.title, description=episode.description, model=model)


def _assert_well_formed(spans: list[DetectedAdSpan], duration: float) -> None:
    assert all(isinstance(s, DetectedAdSpan) for s in spans)
    for span in spans:
        assert 0 <= span.start < span.end <= duration + 0.01
        assert 0.0 <= span.confidence <= 1.0
        assert span.label
    for before, after in zip(spans, spans[1:], strict=False):
        assert before.end <= after.start


def test_held_out_episode_ads_are_found_at_iou_half(corpus, held_out_model):
    """Crime Junkie's four ad breaks, by a model that never saw the podcast: at least 3 match at IoU >= 0.5."""
    episode = corpus["ep-crime-junkie-8ce498f299d7"]

    spans = _detect(episode, held_out_model)

    score = score_spans([(s.start, s.end) for s in spans], episode.truth)
    assert score.truth == 4
    assert score.tp >= 3, spans
    assert score.fp <= 1, spans
    _assert_well_formed(spans, episode.duration)


def test_held_out_episode_without_ads_gets_no_span(corpus, held_out_model):
    episode = corpus[NO_AD_EPISODE]
    assert episode.truth == []

    assert _detect(episode, held_out_model) == []


def test_committed_model_finds_the_corpus_ads_and_none_on_the_no_ad_episode(corpus):
    """The committed artifact (fitted on the whole corpus) on the six fixture episodes: F1 measured 0.73."""
    scores = [score_spans([(s.start, s.end) for s in _detect(e)], e.truth) for e in corpus.values()]

    tp = sum(s.tp for s in scores)
    truth = sum(s.truth for s in scores)
    predicted = sum(s.predicted for s in scores)
    assert 2 * tp / (truth + predicted) >= 0.7
    assert _detect(corpus[NO_AD_EPISODE]) == []


def test_spans_are_ascending_non_overlapping_labelled_and_within_the_audio(corpus):
    for episode in corpus.values():
        _assert_well_formed(_detect(episode), episode.duration)


def test_a_named_sponsor_labels_its_span(corpus):
    """The Tosh Show's pre-roll says "Progressive.com"; the span is labelled with the name."""
    episode = corpus["ep-tosh-show-5f6894439bb6"]

    first = _detect(episode)[0]

    assert first.start < 5
    assert first.label == "Progressive"


def test_publisher_transcript_without_word_timings_is_detected_too(corpus):
    """Segments without `words` (a VTT from the feed): unit times are interpolated within each segment."""
    episode = corpus["ep-crime-junkie-8ce498f299d7"]
    plain = [{"start": s["start"], "end": s["end"], "text": s["text"]} for s in episode.segments]

    spans = detect_ad_spans(plain, title=episode.title, description=episode.description)

    assert score_spans([(s.start, s.end) for s in spans], episode.truth).tp >= 3
    _assert_well_formed(spans, episode.duration)


@pytest.mark.parametrize("segments", [[], [{"start": 0.0, "end": 2.0, "text": "  "}], [{"start": 0, "end": 1, "text": "Hi."}]])
def test_empty_or_tiny_transcripts_get_no_span(segments):
    assert detect_ad_spans(segments) == []


def test_model_is_loaded_once_per_process():
    assert load_model() is load_model()
    assert DETECTOR_VERSION


def test_metric_merges_spans_closer_than_15_seconds_and_matches_at_iou_half():
    assert merge_spans([(0, 10), (24, 30), (50, 60)]) == [(0, 30), (50, 60)]
    # (0, 30) vs truth (0, 40): IoU 0.75, a match; (100, 110) vs (100, 140): IoU 0.25, none.
    score = score_spans([(0, 10), (20, 30), (100, 110)], [(0, 40), (100, 140)])
    assert (score.tp, score.fp, score.fn) == (1, 1, 1)
    assert score_spans([], []).f1 == 1.0


def test_truth_parser_reads_blocks_and_skips_commented_candidates():
    text = """# Verified: no ads
# start: 0:10
# end: 0:20
start: 1:02.5
end:   1:30
text: an ad
---
start: 1:01:00
end: 61:30.25
"""
    assert parse_truth(text) == [(62.5, 90.0), (3660.0, 3690.25)]


def test_a_span_covering_most_of_a_short_episode_is_not_an_ad():
    """A one-minute episode with one sponsor read: the context features put every sentence
    near its cues, and a span over most of the episode would hide the whole transcript."""
    from podcasts.sponsors import MAX_EPISODE_SHARE, detect_ad_spans

    lines = [
        "This is Field Notes.",
        "This week we look back at the history of the bicycle.",
        "The first machine, built in Germany in 1817, had no pedals at all.",
        "This episode is brought to you by Hillside Coffee.",
        "Go to hillsidecoffee.com slash field notes and use promo code field for 20% off.",
        "The safety bicycle of the 1880s changed everything.",
        "Suddenly cheap and reliable transport was available to millions of workers.",
    ]
    segments = [{"start": 8.0 * n, "end": 8.0 * n + 7.0, "text": text} for n, text in enumerate(lines)]

    spans = detect_ad_spans(segments, title="A short history of the bicycle")

    assert all(span.end - span.start <= MAX_EPISODE_SHARE * 55.0 for span in spans)
