import pytest

from summaries.llm.parsing import json_parse_layered
from summaries.schema import SummaryInvalid, summary_validate

VALID = {
    "tldr": "Two hosts talk about compost. They disagree about worms.",
    "key_points": ["Compost feeds soil.", "Turn the pile.", "Leaf mould is underrated."],
    "quotes": [{"text": "Feed the soil.", "start": 12}],
    "chapters": [{"title": "Intro", "start": 0}, {"title": "Worms", "start": 300.5}],
    "topics": ["compost", "soil"],
}


def test_valid_summary_is_normalized_and_unknown_keys_dropped():
    content = summary_validate(
        {**VALID, "tldr": "  Two hosts   talk about compost. They disagree about worms. ", "mood": "happy"}
    )

    assert content["tldr"] == "Two hosts talk about compost. They disagree about worms."
    assert "mood" not in content
    assert content["quotes"] == [{"text": "Feed the soil.", "start": 12.0}]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tldr": ""}, "tldr"),
        ({"tldr": "One. Two. Three. Four."}, "1-3 sentences"),
        ({"key_points": ["a", "b"]}, "key_points"),
        ({"key_points": [f"p{i}" for i in range(8)]}, "key_points"),
        ({"key_points": ["Same.", "same.", "Other."]}, "distinct"),
        ({"quotes": [{"text": "q", "start": 1}] * 6}, "quotes"),
        ({"quotes": [{"text": "q", "start": -1}]}, "quotes"),
        ({"chapters": [{"title": "B", "start": 10}, {"title": "A", "start": 5}]}, "ascending"),
        ({"chapters": []}, "chapters"),
        ({"topics": []}, "topics"),
        ({"topics": ["x" * 61]}, "topics"),
    ],
)
def test_invalid_summaries_are_refused(change, message):
    with pytest.raises(SummaryInvalid, match=message):
        summary_validate({**VALID, **change})


def test_non_object_is_refused():
    with pytest.raises(SummaryInvalid, match="JSON object"):
        summary_validate([VALID])


def test_decimal_points_and_abbreviations_are_not_sentence_breaks():
    assert summary_validate({**VALID, "tldr": "A 3.5 hour talk, e.g. about soil. It ends well. Then a coda."})


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        'Sure! ```\n{"a": 1}\n``` Hope that helps.',
        'Result: {"a": 1} (done)',
        'x [1] then {"a": 1}',
    ],
)
def test_layered_parser_finds_the_object(text):
    assert json_parse_layered(text) == {"a": 1}


@pytest.mark.parametrize("text", ["", "no json here", '{"a": '])
def test_layered_parser_refuses_text_without_json(text):
    with pytest.raises(ValueError):
        json_parse_layered(text)


def test_clock_times_are_read_as_seconds():
    content = summary_validate(
        {**VALID, "chapters": [{"title": "Intro", "start": "0:00"}, {"title": "Later", "start": "1:02:03"}]}
    )

    assert [c["start"] for c in content["chapters"]] == [0.0, 3723.0]


def test_non_finite_times_are_refused():
    with pytest.raises(SummaryInvalid, match="chapters"):
        summary_validate({**VALID, "chapters": [{"title": "Intro", "start": float("nan")}]})
