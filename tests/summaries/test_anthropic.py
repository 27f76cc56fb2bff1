"""The Anthropic provider through the real SDK against a local fake Messages API."""

import json
import time

import pytest

from summaries.llm import MalformedReply, ProviderRejected, ProviderUnavailable, transcript_input, transcript_summarize
from tests.fakes.anthropic_server import (
    error_reply,
    summary_from_lines,
    text_reply,
    tool_reply,
    transcript_lines_sent,
)
from tests.fakes.transcripts import CLOSING_LINE, long_transcript, short_transcript

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


def summarize(version="v2"):
    return transcript_summarize(SEGMENTS, provider="anthropic", prompt_version=version)


def test_tool_call_reply_is_validated_and_quote_takes_the_true_start(fake_anthropic):
    fake_anthropic.script(tool_reply(valid_summary(), input_tokens=1200, output_tokens=400))

    result = summarize()

    assert result.content["tldr"] == "A gardener explains how compost feeds the soil."
    turning = next(s for s in SEGMENTS if s["text"].startswith("Turning the pile"))
    assert result.content["quotes"] == [{"text": turning["text"], "start": turning["start"]}]
    assert result.usage.requests == 1
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1200, 400)
    # Haiku 4.5 list price: $1 / MTok input, $5 / MTok output.
    assert float(result.usage.cost_usd) == pytest.approx(1200 / 1e6 + 400 * 5 / 1e6)


def test_request_forces_the_tool_caches_the_system_prompt_and_sends_timestamps(fake_anthropic):
    fake_anthropic.script(tool_reply(valid_summary()))

    summarize()

    body = fake_anthropic.requests[0]
    assert body["model"] == "claude-haiku-4-5"
    assert body["tool_choice"] == {"type": "tool", "name": "record_summary"}
    assert body["tools"][0]["input_schema"]["required"] == ["tldr", "key_points", "quotes", "chapters", "topics"]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "[0:35]" in body["messages"][0]["content"]
    assert fake_anthropic.headers[0]["authorization"] == "Bearer sk-test-fake"


@pytest.mark.parametrize(
    "text",
    [
        "```json\n{summary}\n```",
        "Here is the summary you asked for:\n{summary}\nLet me know if you need more.",
        "{summary}",
    ],
    ids=["fenced", "prose-around", "plain"],
)
def test_text_reply_goes_through_the_layered_parser(fake_anthropic, text):
    fake_anthropic.script(text_reply(text.replace("{summary}", json.dumps(valid_summary()))))

    result = summarize()

    assert result.content["key_points"][1] == "Turn the pile weekly."


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (text_reply('{"tldr": "cut off", "key_points": ['), "unparseable"),
        (tool_reply(valid_summary(key_points=["only one"])), "schema_invalid"),
        (tool_reply(valid_summary(chapters=[{"title": "b", "start": 50}, {"title": "a", "start": 10}])), "schema_invalid"),
        (text_reply("I can't help with summarizing this content.", stop_reason="refusal"), "refusal"),
        (text_reply(""), "empty"),
        (tool_reply(valid_summary(), stop_reason="max_tokens"), "max_tokens"),
    ],
    ids=["malformed-json", "too-few-key-points", "chapters-not-ascending", "refusal", "empty", "max-tokens"],
)
def test_bad_replies_raise_malformed_with_the_raw_reply(fake_anthropic, reply, reason):
    fake_anthropic.script(reply)

    with pytest.raises(MalformedReply) as caught:
        summarize()

    assert caught.value.reason == reason
    assert json.loads(caught.value.raw)["content"] == reply.body["content"]
    assert len(fake_anthropic.requests) == 1  # a bad reply is not retried in a loop


def test_429_retry_after_is_honoured_but_capped(fake_anthropic):
    fake_anthropic.script(error_reply(429, "rate_limit_error", headers={"retry-after": "3600"}), tool_reply(valid_summary()))

    started = time.monotonic()
    result = summarize()

    assert time.monotonic() - started < 2  # capped at ANTHROPIC_RETRY_AFTER_MAX (0.2 s here), not an hour
    assert len(fake_anthropic.requests) == 2
    assert result.usage.requests == 2
    assert fake_anthropic.headers[1]["x-stainless-retry-count"] == "0"  # the SDK itself never retries


def test_529_burst_within_the_retry_allowance_succeeds(fake_anthropic):
    fake_anthropic.script(error_reply(529, "overloaded_error"), error_reply(529, "overloaded_error"), tool_reply(valid_summary()))

    result = summarize()

    assert len(fake_anthropic.requests) == 3
    assert result.content["topics"] == ["compost", "soil"]


def test_529_burst_past_the_retry_allowance_is_unavailable_after_bounded_attempts(fake_anthropic):
    fake_anthropic.script(*[error_reply(529, "overloaded_error") for _ in range(10)])

    with pytest.raises(ProviderUnavailable):
        summarize()

    assert len(fake_anthropic.requests) == 3  # 1 + ANTHROPIC_MAX_RETRIES


def test_500_then_success(fake_anthropic):
    fake_anthropic.script(error_reply(500, "api_error"), tool_reply(valid_summary()))

    assert summarize().usage.requests == 2


def test_hanging_server_times_out_and_is_retried_a_bounded_number_of_times(fake_anthropic, settings):
    settings.ANTHROPIC_TIMEOUT = 0.3
    settings.ANTHROPIC_MAX_RETRIES = 1
    fake_anthropic.script(*[tool_reply(valid_summary()) for _ in range(3)])
    for reply in fake_anthropic._script:
        reply.delay = 30

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        summarize()

    assert time.monotonic() - started < 3
    assert len(fake_anthropic.requests) == 2


def test_bad_key_is_rejected_without_retries(fake_anthropic):
    fake_anthropic.script(error_reply(401, "authentication_error"))

    with pytest.raises(ProviderRejected):
        summarize()

    assert len(fake_anthropic.requests) == 1


def test_fabricated_quote_is_dropped_and_reported(fake_anthropic):
    quotes = [
        {"text": "Compost is the single greatest invention of the twentieth century.", "start": 12},
        {"text": "worms are the best sign that your garden beds are healthy and alive", "start": 999},
    ]
    fake_anthropic.script(tool_reply(valid_summary(quotes=quotes)))

    result = summarize()

    worms = next(s for s in SEGMENTS if s["text"].startswith("Worms"))
    assert result.content["quotes"] == [{"text": worms["text"], "start": worms["start"]}]
    assert [d["text"] for d in result.dropped_quotes] == [quotes[0]["text"]]
    assert any("unverified quote dropped" in w for w in result.warnings)


def test_long_transcript_is_chunked_and_every_line_reaches_the_model(fake_anthropic, settings):
    settings.SUMMARY_MAX_INPUT_TOKENS = 6000
    segments = long_transcript(1)["segments"]

    result = transcript_summarize(segments, provider="anthropic", prompt_version="v2")

    sent = fake_anthropic.sent_text
    assert CLOSING_LINE in sent
    prepared = transcript_input(segments).prepared  # whisper-style repeated filler lines are left out
    assert all(s["text"] in sent for s in prepared)  # nothing truncated
    assert len(fake_anthropic.requests) == result.usage.requests >= 3  # parts + merge
    assert all(len(json.dumps(body)) / 3.0 < 6000 + 1000 for body in fake_anthropic.requests[:-1])
    assert result.content["chapters"][0]["start"] == 0
    assert any("parts and merged" in w for w in result.warnings)


def test_transcript_under_the_budget_takes_exactly_one_request(fake_anthropic):
    segments = long_transcript(1)["segments"]

    result = transcript_summarize(segments, provider="anthropic", prompt_version="v2")

    assert result.usage.requests == len(fake_anthropic.requests) == 1
    assert CLOSING_LINE in fake_anthropic.sent_text
    assert len(result.content["quotes"]) == 5  # the fake quotes real lines: all verified


def test_v1_prompt_sends_one_line_per_segment(fake_anthropic):
    fake_anthropic.script(lambda body: tool_reply(summary_from_lines(transcript_lines_sent(body))))

    summarize("v1")

    assert len(transcript_lines_sent(fake_anthropic.requests[0])) == len(SEGMENTS)


def test_retry_after_ms_and_x_should_retry_false_are_obeyed(fake_anthropic):
    fake_anthropic.script(error_reply(429, "rate_limit_error", headers={"retry-after-ms": "50"}), tool_reply(valid_summary()))
    assert summarize().usage.requests == 2

    fake_anthropic.script(error_reply(503, "api_error", headers={"x-should-retry": "false"}))
    with pytest.raises(ProviderRejected):
        summarize()
    assert len(fake_anthropic.requests) == 3


def test_model_without_a_price_sends_nothing(fake_anthropic, settings):
    settings.ANTHROPIC_MODEL = "claude-unpriced-9"

    with pytest.raises(ProviderRejected, match="no price"):
        summarize()

    assert fake_anthropic.requests == []
