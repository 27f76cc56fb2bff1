"""The OpenAI-compatible provider through the real `openai` SDK against a local fake server:
structured output and its fallbacks, context accounting, and every fault of issue 13."""

import json
import time

import pytest

from summaries.llm import (
    MalformedReply,
    ProviderRejected,
    ProviderUnavailable,
    estimate_tokens,
    transcript_input,
    transcript_summarize,
)
from summaries.llm.openai import accepted_mode
from tests.fakes.anthropic_server import Reply, summary_from_lines, summary_of_request, transcript_lines_sent
from tests.fakes.openai_server import completion, error_reply, format_type, json_reply, text_reply
from tests.fakes.transcripts import CLOSING_LINE, long_transcript, short_transcript
from tests.support.corpus import fixture_episode

SEGMENTS = short_transcript()["segments"]


def valid_summary(**overrides):
    summary = {
        "tldr": "A gardener explains how compost feeds the soil.",
        "key_points": ["Mix green and brown material.", "Turn the pile weekly.", "Leaf mould holds water."],
        "quotes": [{"text": "Turning the pile once a week keeps it warm and speeds everything up.", "start": 1.0}],
        "chapters": [{"title": "Compost basics", "start": 0}, {"title": "Leaf mould", "start": 60}],
        "topics": ["compost", "soil"],
    }
    summary.update(overrides)
    return summary


def summarize(segments=SEGMENTS):
    return transcript_summarize(segments, provider="openai", prompt_version="v2")


def test_json_schema_reply_is_validated_counted_and_free_on_a_local_server(fake_openai):
    fake_openai.script(json_reply(valid_summary()))

    result = summarize()

    body = fake_openai.requests[0]
    assert body["model"] == "fake-local-model"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["tldr", "key_points", "quotes", "chapters", "topics"]
    assert body["max_tokens"] == 2048 and body["temperature"] == 0
    # One user turn carries the instructions: some chat templates silently drop a system message.
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert "answer with only the JSON object" in body["messages"][0]["content"]
    assert "[0:00]" in body["messages"][0]["content"]
    assert result.content["tldr"] == "A gardener explains how compost feeds the soil."
    turning = next(s for s in SEGMENTS if s["text"].startswith("Turning the pile"))
    assert result.content["quotes"] == [{"text": turning["text"], "start": turning["start"]}]
    assert (result.provider, result.model, result.usage.requests) == ("openai", "fake-local-model", 1)
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.usage.cost_usd == 0
    assert accepted_mode(fake_openai.url, "fake-local-model") == "json_schema"


@pytest.mark.parametrize(("max_output_tokens", "points", "quotes"), [(8192, 7, 5), (2048, 5, 2), (320, 3, 0)])
def test_the_requested_schema_bounds_the_reply_to_what_max_tokens_can_hold(
    fake_openai, settings, max_output_tokens, points, quotes
):
    settings.OPENAI_MAX_OUTPUT_TOKENS = max_output_tokens

    summarize()

    schema = fake_openai.requests[0]["response_format"]["json_schema"]["schema"]
    assert (schema["properties"]["key_points"]["maxItems"], schema["properties"]["quotes"]["maxItems"]) == (points, quotes)
    assert schema["properties"]["tldr"]["maxLength"] * 1 <= max_output_tokens * 3


def test_server_that_only_accepts_json_object_gets_the_schema_there_and_is_remembered(fake_openai):
    fake_openai.formats = {"json_object", "text"}  # llama-cpp-python's server

    first = summarize()
    second = summarize()

    assert [format_type(b) for b in fake_openai.requests] == ["json_schema", "json_object", "json_object"]
    assert fake_openai.requests[1]["response_format"]["schema"]["required"][0] == "tldr"
    assert first.usage.requests == 2 and second.usage.requests == 1
    assert first.content["chapters"] and second.content["chapters"]
    assert accepted_mode(fake_openai.url, "fake-local-model") == "json_object"


def test_server_without_structured_output_gets_plain_text_through_the_layered_parser(fake_openai):
    fake_openai.formats = {"text"}
    fake_openai.script(text_reply("Sure! Here is the summary:\n```json\n" + json.dumps(valid_summary()) + "\n```\nEnjoy."))

    result = summarize()

    assert [format_type(b) for b in fake_openai.requests] == ["json_schema", "json_object", "text"]
    assert "response_format" not in fake_openai.requests[2]
    assert result.content["topics"] == ["compost", "soil"]
    assert accepted_mode(fake_openai.url, "fake-local-model") == "text"


def test_a_400_for_json_schema_falls_back_to_json_object(fake_openai):
    fake_openai.script(error_reply(400, "unknown response_format type"), json_reply(valid_summary()))

    result = summarize()

    assert [format_type(b) for b in fake_openai.requests] == ["json_schema", "json_object"]
    assert result.usage.requests == 2


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (text_reply(""), "empty"),
        (text_reply(None), "empty"),
        (lambda body: Reply(body={**completion("x"), "choices": []}), "empty"),
        (text_reply("I am sorry, I can only chat about gardening."), "unparseable"),
        (json_reply(valid_summary(key_points=["only one"])), "schema_invalid"),
        (json_reply({"summary": "not the schema"}), "schema_invalid"),
        (text_reply('{"tldr": "The episode is about compost and', finish_reason="length"), "max_tokens"),
        (json_reply(valid_summary(), finish_reason="content_filter"), "refusal"),
    ],
)
def test_bad_replies_raise_malformed_with_the_raw_reply(fake_openai, reply, reason):
    fake_openai.script(reply)

    with pytest.raises(MalformedReply) as caught:
        summarize()

    assert caught.value.reason == reason
    assert json.loads(caught.value.raw)["id"] == "chatcmpl-fake"  # the whole reply, for the curator
    assert caught.value.usage.requests == 1
    assert len(fake_openai.requests) == 1  # a bad reply is not retried here


def test_server_reporting_fewer_prompt_tokens_than_sent_is_a_truncation_fault(fake_openai):
    fake_openai.prompt_tokens_factor = 0.3  # as Ollama reports a prompt cut to its default context

    with pytest.raises(MalformedReply) as caught:
        summarize(long_transcript(0.5)["segments"])

    assert caught.value.reason == "prompt_truncated"
    assert "OPENAI_CONTEXT_TOKENS" in caught.value.detail
    assert json.loads(caught.value.raw)["usage"]["prompt_tokens"] < len(fake_openai.sent_text) / 6


def test_true_prompt_tokens_of_a_denser_tokenizer_pass(fake_openai):
    fake_openai.prompt_tokens_factor = 0.7  # ~5.7 characters per token: unusual, not truncated

    assert summarize().usage.requests == 1


def test_429_retry_after_is_honoured_but_capped(fake_openai):
    fake_openai.script(error_reply(429, "rate limited", headers={"retry-after": "3600"}), json_reply(valid_summary()))

    started = time.monotonic()
    result = summarize()

    assert time.monotonic() - started < 2.0  # capped at OPENAI_RETRY_AFTER_MAX (0.2 s), not an hour
    assert result.usage.requests == 2


def test_5xx_burst_within_the_allowance_succeeds_and_past_it_is_unavailable(fake_openai):
    fake_openai.script(error_reply(503, "overloaded"), error_reply(502, "bad gateway"), json_reply(valid_summary()))
    assert summarize().usage.requests == 3

    fake_openai.script(*[error_reply(500, "internal error")] * 3)
    with pytest.raises(ProviderUnavailable):
        summarize()
    assert len(fake_openai.requests) == 6  # 1 + OPENAI_MAX_RETRIES, then it stops
    assert accepted_mode(fake_openai.url, "fake-local-model") == "json_schema"  # a plain 500 is no refusal


def test_retries_stop_at_the_summary_deadline(fake_openai, settings):
    settings.OPENAI_MAX_RETRIES = 100
    settings.OPENAI_RETRY_AFTER_MAX = 0.5
    settings.SUMMARY_DEADLINE_SECONDS = 2.5
    fake_openai.script(*[error_reply(429, "rate limited", headers={"retry-after": "1"})] * 100)

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="deadline"):
        summarize()

    assert time.monotonic() - started < 3.5
    assert 2 <= len(fake_openai.requests) < 10


def test_hanging_server_times_out_and_is_retried_a_bounded_number_of_times(fake_openai, settings):
    settings.OPENAI_TIMEOUT = 0.3
    fake_openai.script(*[error_reply(200, delay=5.0)] * 3)

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        summarize()

    assert time.monotonic() - started < 3.0
    assert len(fake_openai.requests) == 3


def test_connection_refused_is_unavailable_after_bounded_retries(fake_openai, settings, refused_url):
    settings.OPENAI_BASE_URL = refused_url

    with pytest.raises(ProviderUnavailable) as caught:
        summarize()

    assert "APIConnectionError" in str(caught.value)
    assert fake_openai.requests == []


def test_bad_request_is_rejected_without_retries_once_text_mode_is_known(fake_openai):
    fake_openai.formats = {"text"}
    summarize()
    fake_openai.script(error_reply(400, "model not found"))

    with pytest.raises(ProviderRejected):
        summarize()

    assert len(fake_openai.requests) == 4  # 3 to learn the mode, then one refused request


def test_long_transcript_is_chunked_under_the_context_and_every_line_reaches_the_model(fake_openai, settings):
    settings.OPENAI_CONTEXT_TOKENS = 2048
    settings.OPENAI_MAX_OUTPUT_TOKENS = 512
    segments = long_transcript(1)["segments"]

    result = summarize(segments)

    sent = fake_openai.sent_text
    assert CLOSING_LINE in sent
    prepared = transcript_input(segments).prepared  # whisper-style repeated filler lines are left out
    assert all(s["text"] in sent for s in prepared)  # nothing truncated
    for body in fake_openai.requests:  # each request fits its context with room for the reply
        text = "".join(m["content"] for m in body["messages"])
        assert estimate_tokens(text) + body["max_tokens"] <= 2048
    parts = sum(1 for body in fake_openai.requests if transcript_lines_sent(body))
    assert parts > 10 and len(fake_openai.requests) == result.usage.requests > parts  # parts, then merges
    assert result.content["chapters"][0]["start"] == 0
    assert any("parts and merged" in w for w in result.warnings)


def test_transcript_within_the_context_takes_exactly_one_request(fake_openai):
    segments = long_transcript(1)["segments"]
    fake_openai.script(lambda body: json_reply(summary_from_lines(transcript_lines_sent(body)))(body))

    result = summarize(segments)

    assert result.usage.requests == len(fake_openai.requests) == 1
    assert CLOSING_LINE in fake_openai.sent_text


def test_a_context_too_small_for_any_transcript_is_refused_before_sending(fake_openai, settings):
    settings.OPENAI_CONTEXT_TOKENS = 1024
    settings.OPENAI_MAX_OUTPUT_TOKENS = 512

    with pytest.raises(ProviderRejected, match="no room"):
        summarize(long_transcript(0.2)["segments"])

    assert fake_openai.requests == []


def test_model_without_a_price_sends_nothing(fake_openai, settings):
    settings.OPENAI_MODEL = "gpt-unpriced-9"

    with pytest.raises(ProviderRejected, match="no price"):
        summarize()

    assert fake_openai.requests == []


def test_server_reporting_no_usage_still_summarizes_with_a_warning_and_estimated_tokens(fake_openai):
    fake_openai.script(text_reply(json.dumps(valid_summary()), usage=False))

    result = summarize()

    assert any("truncation could not be checked" in w for w in result.warnings)
    assert result.usage.input_tokens > 0 and result.usage.requests == 1


def test_a_raw_newline_inside_a_json_string_is_read(fake_openai):
    """Small local models write one even under a JSON grammar (seen with Gemma 3 270M)."""
    fake_openai.script(
        text_reply(json.dumps(valid_summary()).replace("feeds the soil.", "feeds\\nthe soil.").replace("\\n", "\n"))
    )

    assert summarize().content["tldr"] == "A gardener explains how compost feeds the soil."


GIST = "ep-daily-gist-chicago-70a82fe93a5c"


def v3_summary(**overrides):
    """A valid v3 reply (h:mm:ss times, ad spans) for the Daily Gist fixture episode."""
    v3 = {
        "quotes": [],
        "chapters": [{"title": "Suburban apartment deals", "start": "0:00:00"}, {"title": "Headlines", "start": "0:09:03"}],
        "ads": [],
    }
    return valid_summary(**{**v3, **overrides})


def test_v3_asks_for_ad_spans_and_keeps_the_one_the_transcript_bears_out(fake_openai):
    corpus = fixture_episode(GIST)
    fake_openai.script(
        json_reply(
            v3_summary(
                ads=[
                    {"start": "0:00:54", "end": "0:01:05", "label": "Old National Bank"},  # said there
                    {"start": "0:05:00", "end": "0:06:00", "label": "Squarespace"},  # never said there
                ],
                quotes=[{"text": "Because when you succeed, they succeed.", "start": "0:00:54"}],
            )
        )
    )

    result = transcript_summarize(corpus.segments, provider="openai", prompt_version="v3")

    body = fake_openai.requests[0]
    schema = body["response_format"]["json_schema"]["schema"]
    assert "ads" in schema["required"]
    assert set(schema["properties"]["ads"]["items"]["required"]) == {"start", "end", "label"}
    # Written for grammar converters that read \d as a literal (llama-cpp-python's).
    assert schema["properties"]["ads"]["items"]["properties"]["start"]["pattern"] == "^[0-9]{1,2}:[0-5][0-9]:[0-5][0-9]$"
    assert "chapters, topics and ads" in body["messages"][0]["content"]
    assert result.model_ads == [{"start": 54.0, "end": 65.0, "label": "Old National Bank"}]
    assert [(d["span"]["label"], d["reason"]) for d in result.dropped_ads] == [
        ("Squarespace", "its label is not said in the span")
    ]
    assert any("unverified ad span dropped" in w for w in result.warnings)
    assert result.content["quotes"] == []  # the quote sat inside the model's own ad span


def test_ad_spans_of_every_part_are_collected_and_merges_add_none(fake_openai, settings):
    corpus = fixture_episode(GIST)
    settings.OPENAI_CONTEXT_TOKENS = 2048  # the 10-minute episode goes in parts
    settings.OPENAI_MAX_OUTPUT_TOKENS = 320
    bank = {"start": "0:00:54", "end": "0:01:05", "label": "Old National Bank"}
    # Parts answer with the bank's span (the first part's is the true one); a merge's span is ignored.
    fake_openai.default = lambda body: json_reply(
        {**summary_of_request(body), "ads": [bank]}
        if "<part_summaries>" not in body["messages"][0]["content"]
        else {**summary_of_request(body), "ads": [{"start": "0:05:00", "end": "0:06:00", "label": "Squarespace"}]}
    )(body)

    result = transcript_summarize(corpus.segments, provider="openai", prompt_version="v3")

    merges = [b for b in fake_openai.requests if "<part_summaries>" in b["messages"][0]["content"]]
    parts = len(fake_openai.requests) - len(merges)
    assert parts >= 2 and merges
    assert result.model_ads == [{"start": 54.0, "end": 65.0, "label": "Old National Bank"}]  # one span, said once
    assert not any(d["span"]["label"] == "Squarespace" for d in result.dropped_ads)


def test_v2_asks_for_no_ad_spans(fake_openai):
    fake_openai.script(json_reply(valid_summary(ads=[{"start": 1, "end": 5, "label": "Hillside Coffee"}])))

    result = summarize()

    assert "ads" not in fake_openai.requests[0]["response_format"]["json_schema"]["schema"]["properties"]
    assert (result.model_ads, result.dropped_ads) == ([], [])
