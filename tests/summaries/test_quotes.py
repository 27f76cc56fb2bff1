from summaries.quotes import quotes_verify

SEGMENTS = [
    {"start": 0.0, "end": 4.0, "text": "Welcome back to the show."},
    {"start": 4.0, "end": 9.5, "text": "Today we talk about compost, and why your soil needs it."},
    {"start": 9.5, "end": 14.0, "text": "The biggest mistake is treating compost like rubbish"},
    {"start": 14.0, "end": 18.0, "text": "instead of food for the soil."},
]


def test_exact_quote_takes_the_true_segment_start():
    verified, dropped = quotes_verify([{"text": "why your soil needs it", "start": 99}], SEGMENTS)

    assert verified == [{"text": "why your soil needs it.", "start": 4.0}]
    assert dropped == []


def test_quote_with_changed_case_and_punctuation_is_shown_in_the_transcript_wording():
    verified, _ = quotes_verify([{"text": "today we talk about Compost and why your soil needs it!", "start": 0}], SEGMENTS)

    assert verified == [{"text": "Today we talk about compost, and why your soil needs it.", "start": 4.0}]


def test_quote_spanning_two_segments_starts_at_the_first():
    verified, _ = quotes_verify([{"text": "treating compost like rubbish instead of food for the soil", "start": 14}], SEGMENTS)

    assert verified == [{"text": "treating compost like rubbish instead of food for the soil.", "start": 9.5}]


def test_fabricated_and_paraphrased_quotes_are_dropped():
    quotes = [
        {"text": "Compost is overrated and nobody should bother with it.", "start": 1},
        {"text": "People wrongly think of compost as garbage rather than soil nutrition.", "start": 9},
        {"text": "the show", "start": 0},  # too short to place
    ]

    verified, dropped = quotes_verify(quotes, SEGMENTS)

    assert verified == []
    assert [d["text"] for d in dropped] == [q["text"] for q in quotes]
