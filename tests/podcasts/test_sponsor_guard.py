"""Where summaries do not look: the detector's spans widened, and ad copy the spans missed."""

import pytest

from podcasts.sponsors.guard import EDGE_MARGIN_SECONDS, READ_SECONDS, summary_avoid_spans

HOUR = 3600.0


def _line(start: float, text: str, length: float = 8.0) -> dict:
    return {"start": start, "end": start + length, "text": text}


def _talk(start: float, end: float) -> list[dict]:
    return [_line(t, "The panel talks about the harbour bridge and its long repairs.") for t in range(int(start), int(end), 10)]


def test_a_detector_span_is_widened_and_a_curator_span_is_not():
    segments = _talk(0, 1200)

    avoid = summary_avoid_spans(segments, exact=[(600.0, 660.0)], uncertain=[(300.0, 360.0)], duration=1200.0)

    assert avoid == [(300.0 - EDGE_MARGIN_SECONDS, 360.0 + EDGE_MARGIN_SECONDS), (600.0, 660.0)]


def test_a_read_the_spans_missed_is_guarded_from_its_lead_in_past_its_address():
    segments = [
        *_talk(0, 500),
        _line(500, "This episode is brought to you by Lumen Mattress."),
        _line(510, "Sleep cooler on a mattress built for hot nights."),
        _line(530, "Go to lumenmattress.com for a hundred nights free."),
        *_talk(540, 1200),
    ]

    avoid = summary_avoid_spans(segments, exact=[], uncertain=[], duration=1200.0)

    assert len(avoid) == 1
    start, end = avoid[0]
    assert start <= 500 and end >= 538 and end == pytest.approx(508 + READ_SECONDS)


def test_a_credit_without_closing_copy_and_a_bare_sign_off_address_are_talk():
    segments = [
        _line(60, "Welcome to season two, a podcast series brought to you by the city library."),
        *_talk(70, 1100),
        _line(1100, "That's the news for now; more on our site at harbourdaily.com."),
    ]

    assert summary_avoid_spans(segments, exact=[], uncertain=[], duration=1200.0) == []


def test_small_print_alone_keeps_a_margin_around_it():
    segments = [*_talk(0, 300), _line(300, "Sell your car today. Pickup fees may apply.", 4.0), *_talk(310, 1200)]

    avoid = summary_avoid_spans(segments, exact=[], uncertain=[], duration=1200.0)

    # Out to the edges of the lines the margin ends in (300 - 30 starts a line; 334 is inside 330-338).
    assert avoid == [(300 - EDGE_MARGIN_SECONDS, 338.0)]


def test_copy_inside_a_curator_span_does_not_widen_it():
    segments = [*_talk(0, 300), _line(300, "Visit lumenmattress.com and use code SLEEP.", 5.0), *_talk(310, 1200)]

    assert summary_avoid_spans(segments, exact=[(290.0, 310.0)], uncertain=[], duration=1200.0) == [(290.0, 310.0)]


def test_a_short_episode_gets_a_narrower_margin():
    segments = _talk(0, 120)

    avoid = summary_avoid_spans(segments, exact=[], uncertain=[(20.0, 40.0)], duration=120.0)

    margin = EDGE_MARGIN_SECONDS * 120.0 / 600.0
    assert margin == 6.0
    assert avoid == [(10.0, 48.0)]  # 14 and 46, out to the lines they fall in (10-18, 40-48)


def test_an_episode_full_of_offer_codes_is_not_guarded_away():
    # A show about deals: codes every minute are its subject, not a read.
    segments = [_line(t, "Today's deal: use code SAVE at the store.") for t in range(0, int(HOUR), 60)]

    avoid = summary_avoid_spans(segments, exact=[], uncertain=[(100.0, 150.0)], duration=HOUR)

    assert avoid == [(100.0 - EDGE_MARGIN_SECONDS, 150.0 + EDGE_MARGIN_SECONDS)]


def test_a_margin_never_cuts_a_line_in_two():
    # The demo's episode 2: a margin ending mid-line once glued "a giant" to "everything."
    segments = [
        _line(11.0, "Later came the high wheeler, with a giant front wheel that made every fall dangerous.", 5.0),
        _line(16.0, "This episode is brought to you by Hillside Coffee.", 3.0),
        _line(24.0, "Go to hillsidecoffee.com slash notes for 20% off.", 11.0),
        _line(35.5, "The safety bicycle of the 80s changed everything.", 3.0),
        _line(40.0, "Suddenly cheap and reliable transport was available.", 8.0),
    ]

    avoid = summary_avoid_spans(segments, exact=[], uncertain=[(16.0, 35.0)], duration=50.0)

    assert avoid == [(11.0, 38.5)]
