"""Claude through the real `anthropic` SDK: the Messages API with a forced tool call.

Retries are not the SDK's (max_retries=0): the SDK obeys any `retry-after` with no
upper bound and counts retries per request, while a summary needs one bound for all of
its requests and a wall-clock deadline below the RQ job timeout
(summaries.llm.session, shared with the openai provider). Every request goes through the
daily token budget. A transcript over SUMMARY_MAX_INPUT_TOKENS goes in parts and merges
(summaries.llm.chunking).
"""

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

import anthropic
from django.conf import settings

from summaries.llm.base import (
    MalformedReply,
    ProviderOutput,
    ProviderRejected,
    Usage,
    cost_usd,
    estimate_tokens,
    price_for,
)
from summaries.llm.chunking import one_request_user, summarize_in_parts
from summaries.llm.parsing import reply_summary
from summaries.llm.prepare import EpisodeContext
from summaries.llm.session import RequestSession, sdk_classify
from summaries.prompts import PromptTemplate, context_block
from summaries.schema import SUMMARY_JSON_SCHEMA

TOOL_NAME = "record_summary"
TOOL = {
    "name": TOOL_NAME,
    "description": "Record the summary of the podcast episode.",
    "input_schema": SUMMARY_JSON_SCHEMA,
}
RAW_MAX_CHARS = 20_000


def tool_for(prompt: PromptTemplate) -> dict[str, Any]:
    """The forced tool for a prompt version (v3 has its own schema, with ad spans)."""
    if prompt.tool_schema is None:
        return TOOL
    return {**TOOL, "input_schema": prompt.tool_schema}


def temperature_for(prompt: PromptTemplate) -> float | None:
    return settings.SUMMARY_TEMPERATURE if prompt.uses_temperature else None


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0)


def client_get() -> anthropic.Anthropic:
    if not settings.ANTHROPIC_API_KEY:
        raise ProviderRejected("ANTHROPIC_API_KEY is not set")
    return _client(settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL)


class _Session:
    """One summary's requests to the Messages API (retries, deadline, budget: summaries.llm.session)."""

    def __init__(self, *, budget, model: str):
        if price_for(model) is None:  # no request whose cost could not be accounted for
            raise ProviderRejected(f"ANTHROPIC_MODEL {model!r} has no price in LLM_PRICES_USD_PER_MTOK")
        self.model = model
        self.client = client_get()
        self.requests = RequestSession.from_settings(budget=budget, prefix="ANTHROPIC")
        self.usage = self.requests.usage

    def request(self, *, system: str, user: str, tool: dict[str, Any] = TOOL, temperature: float | None = None) -> Any:
        reserve_tokens = estimate_tokens(system) + estimate_tokens(user) + estimate_tokens(json.dumps(tool))
        reserve_tokens += settings.SUMMARY_MAX_OUTPUT_TOKENS
        params = request_params(model=self.model, system=system, user=user, tool=tool, temperature=temperature)
        if "temperature" in params:  # the 2.x SDK has no sampling parameters: sent as a raw body field
            params["extra_body"] = {"temperature": params.pop("temperature")}
        return self.requests.call(
            lambda timeout: self.client.messages.create(**params, timeout=timeout),
            reserve_tokens=reserve_tokens,
            usage_of=lambda message: usage_of(message, model=self.model),
            classify=lambda exc: sdk_classify(anthropic, exc),
        )


def request_params(
    *, model: str, system: str, user: str, tool: dict[str, Any] = TOOL, temperature: float | None = None
) -> dict[str, Any]:
    """The Messages API request body for one summary request (synchronous or in a batch)."""
    params = {
        "model": model,
        "max_tokens": settings.SUMMARY_MAX_OUTPUT_TOKENS,
        "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
        "tools": [tool],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
        "messages": [{"role": "user", "content": user}],
    }
    if temperature is not None:
        params["temperature"] = temperature
    return params


def usage_of(message: Any, *, model: str, price_factor: Decimal = Decimal(1)) -> Usage:
    """Tokens and cost of one reply; `price_factor` is BATCH_PRICE_FACTOR for batch results."""
    u = message.usage
    cache_write = getattr(u, "cache_creation_input_tokens", None) or 0
    cache_read = getattr(u, "cache_read_input_tokens", None) or 0
    cost = cost_usd(
        model,
        input_tokens=u.input_tokens or 0,
        output_tokens=u.output_tokens or 0,
        cache_write_tokens=cache_write,
        cache_read_tokens=cache_read,
    )
    return Usage(
        input_tokens=(u.input_tokens or 0) + cache_write + cache_read,
        output_tokens=u.output_tokens or 0,
        requests=1,
        cost_usd=(cost * price_factor).quantize(Decimal("0.000001")),
    )


def _raw(message: Any) -> str:
    try:
        raw = message.model_dump_json(exclude_none=True)
    except Exception:  # an odd reply the SDK could barely parse still gets recorded
        raw = repr(message)
    return raw[:RAW_MAX_CHARS]


def reply_content(message: Any, *, usage: Usage | None = None) -> dict[str, Any]:
    """The validated summary in a Messages API reply; MalformedReply otherwise."""
    return reply_parts(message, usage=usage)[0]


def reply_parts(message: Any, *, usage: Usage | None = None) -> tuple[dict[str, Any], list[Any] | None]:
    """(validated summary, the reply's raw `ads` list or None) of a Messages API reply;
    MalformedReply otherwise. The ads are checked against the transcript later (output_verify)."""
    raw = _raw(message)
    if message.stop_reason == "max_tokens":
        raise MalformedReply("max_tokens", "the reply was cut off at max_tokens", raw=raw, usage=usage)
    if message.stop_reason == "refusal":
        raise MalformedReply("refusal", "the model refused to answer", raw=raw, usage=usage)
    blocks = message.content or []
    tool_inputs = [b.input for b in blocks if getattr(b, "type", "") == "tool_use" and b.name == TOOL_NAME]
    if tool_inputs:
        return reply_summary(tool_inputs[0], raw=raw, usage=usage)
    text = "".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", "") == "text")
    if not text.strip():
        raise MalformedReply("empty", "the reply had no tool call and no text", raw=raw, usage=usage)
    return reply_summary(text=text, raw=raw, usage=usage)


def _overhead(prompt: PromptTemplate, context: EpisodeContext | None = None) -> int:
    context_tokens = estimate_tokens(context_block(context or EpisodeContext())) if prompt.uses_context else 0
    return (
        estimate_tokens(prompt.system)
        + estimate_tokens(json.dumps(tool_for(prompt)))
        + estimate_tokens(prompt.chunk)
        + context_tokens
        + 50
    )


def _input_limits(prompt: PromptTemplate, context: EpisodeContext | None) -> dict[str, int]:
    """What summaries.llm.chunking sizes requests by: SUMMARY_MAX_INPUT_TOKENS, less the overhead."""
    return {"token_limit": settings.SUMMARY_MAX_INPUT_TOKENS, "overhead": _overhead(prompt, context)}


def single_request_params(
    segments: list[dict], *, prompt: PromptTemplate, context: EpisodeContext | None = None
) -> dict[str, Any] | None:
    """The one request that summarizes `segments` (what a Message Batch entry sends), or None
    when the transcript is over SUMMARY_MAX_INPUT_TOKENS and needs the chunked path."""
    user = one_request_user(segments, prompt=prompt, context=context, **_input_limits(prompt, context))
    if user is None:
        return None
    return request_params(
        model=settings.ANTHROPIC_MODEL,
        system=prompt.system,
        user=user,
        tool=tool_for(prompt),
        temperature=temperature_for(prompt),
    )


def output_from_message(message: Any, *, model: str, price_factor: Decimal = Decimal(1)) -> ProviderOutput:
    """A reply obtained elsewhere (a Message Batch result) through the same parsing and
    validation as a synchronous one; MalformedReply (carrying the usage) otherwise."""
    usage = usage_of(message, model=model, price_factor=price_factor)
    content, ads = reply_parts(message, usage=usage)
    return ProviderOutput(content=content, provider="anthropic", model=model, usage=usage, ads=ads)


def summarize(segments: list[dict], *, prompt: PromptTemplate, budget, context: EpisodeContext | None = None) -> ProviderOutput:
    model = settings.ANTHROPIC_MODEL
    session = _Session(budget=budget, model=model)
    tool = tool_for(prompt)
    temperature = temperature_for(prompt)

    def ask(user: str) -> tuple[dict[str, Any], list[Any] | None]:
        message = session.request(system=prompt.system, user=user, tool=tool, temperature=temperature)
        return reply_parts(message, usage=session.usage)

    done = summarize_in_parts(segments, prompt=prompt, ask=ask, context=context, **_input_limits(prompt, context))
    return ProviderOutput(
        content=done.content, provider="anthropic", model=model, usage=session.usage, warnings=done.warnings, ads=done.ads
    )
