"""Claude through the real `anthropic` SDK: the Messages API with a forced tool call.

Retries are done here, not by the SDK (max_retries=0): the SDK obeys any
`retry-after` with no upper bound and counts retries per request, while a
summary needs one bound for all of its requests and a wall-clock deadline
below the RQ job timeout. Every request goes through the daily token budget.
"""

import json
import logging
import time
from decimal import Decimal
from functools import lru_cache
from typing import Any

import anthropic
from django.conf import settings

from summaries.llm.base import (
    MalformedReply,
    ProviderOutput,
    ProviderRejected,
    ProviderUnavailable,
    Usage,
    cost_usd,
    estimate_tokens,
    price_for,
)
from summaries.llm.parsing import json_parse_layered
from summaries.llm.prepare import EpisodeContext
from summaries.prompts import PromptTemplate, context_block, transcript_lines
from summaries.schema import SUMMARY_JSON_SCHEMA, SummaryInvalid, summary_validate

logger = logging.getLogger("castnotes.summaries")

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


RETRYABLE_STATUS = {408, 409, 429}


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0)


def client_get() -> anthropic.Anthropic:
    if not settings.ANTHROPIC_API_KEY:
        raise ProviderRejected("ANTHROPIC_API_KEY is not set")
    return _client(settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL)


def _duration(segments: list[dict]) -> str:
    seconds = int(max(s["end"] for s in segments))
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(float(headers.get(name)) * scale, 0.0)
        except (TypeError, ValueError):
            continue
    return None


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, anthropic.APIStatusError):
        if exc.response.headers.get("x-should-retry") == "false":
            return False
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500
    return isinstance(exc, anthropic.APIConnectionError)  # includes APITimeoutError


class _Session:
    """One summary's requests: a shared retry allowance, a deadline, summed usage."""

    def __init__(self, *, budget, model: str):
        if price_for(model) is None:  # no request whose cost could not be accounted for
            raise ProviderRejected(f"ANTHROPIC_MODEL {model!r} has no price in LLM_PRICES_USD_PER_MTOK")
        self.budget = budget
        self.model = model
        self.client = client_get()
        self.retries_left = settings.ANTHROPIC_MAX_RETRIES
        self.deadline = time.monotonic() + settings.SUMMARY_DEADLINE_SECONDS
        self.usage = Usage()

    def request(self, *, system: str, user: str, tool: dict[str, Any] = TOOL, temperature: float | None = None) -> Any:
        reserve_tokens = estimate_tokens(system) + estimate_tokens(user) + estimate_tokens(json.dumps(tool))
        reserve_tokens += settings.SUMMARY_MAX_OUTPUT_TOKENS
        backoff_step = 0
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining < 1.0:
                raise ProviderUnavailable("summary deadline reached before the LLM answered")
            reservation = self.budget.reserve(reserve_tokens)  # BudgetExceeded propagates
            try:
                params = request_params(model=self.model, system=system, user=user, tool=tool, temperature=temperature)
                if "temperature" in params:  # the 2.x SDK has no sampling parameters: sent as a raw body field
                    params["extra_body"] = {"temperature": params.pop("temperature")}
                message = self.client.messages.create(**params, timeout=min(settings.ANTHROPIC_TIMEOUT, remaining))
            except Exception as exc:
                # No usage came back: release the reservation, still count the request.
                self.budget.settle(reservation, Usage(requests=1))
                self.usage.requests += 1
                if not isinstance(exc, anthropic.APIError):
                    raise
                status = getattr(exc, "status_code", None)
                if not _is_retryable(exc):
                    raise ProviderRejected(f"the API refused the request: {status} {type(exc).__name__}") from exc
                if self.retries_left <= 0:
                    raise ProviderUnavailable(f"LLM unavailable after retries: {status or type(exc).__name__}") from exc
                self.retries_left -= 1
                wait = _retry_after(exc)
                if wait is None:
                    wait = settings.ANTHROPIC_RETRY_BACKOFF * 2**backoff_step
                    backoff_step += 1
                wait = min(wait, settings.ANTHROPIC_RETRY_AFTER_MAX, max(self.deadline - time.monotonic() - 1.0, 0.0))
                logger.info(
                    "llm_retry",
                    extra={"event": "llm_retry", "status": status, "error": type(exc).__name__, "wait_s": round(wait, 3)},
                )
                time.sleep(wait)
                continue
            usage = self._usage_of(message)
            self.budget.settle(reservation, usage)
            self.usage.add(usage)
            return message

    def _usage_of(self, message: Any) -> Usage:
        return usage_of(message, model=self.model)


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
        data = tool_inputs[0]
    else:
        text = "".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", "") == "text")
        if not text.strip():
            raise MalformedReply("empty", "the reply had no tool call and no text", raw=raw, usage=usage)
        try:
            data = json_parse_layered(text)
        except ValueError as exc:
            raise MalformedReply("unparseable", str(exc), raw=raw, usage=usage) from None
    ads = data.get("ads") if isinstance(data, dict) else None
    try:
        return summary_validate(data), (ads if isinstance(ads, list) else None)
    except SummaryInvalid as exc:
        raise MalformedReply("schema_invalid", str(exc), raw=raw, usage=usage) from None


def _chunks(lines: list[str], *, token_limit: int) -> list[list[str]]:
    """Consecutive runs of lines, each under `token_limit` (a too-long line is split on words)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        pieces = [line]
        if estimate_tokens(line) > token_limit:
            words, pieces, piece = line.split(), [], []
            for word in words:
                if piece and estimate_tokens(" ".join(piece + [word])) > token_limit:
                    pieces.append(" ".join(piece))
                    piece = []
                piece.append(word)
            pieces.append(" ".join(piece))
        for piece in pieces:
            cost = estimate_tokens(piece) + 1
            if current and size + cost > token_limit:
                chunks.append(current)
                current, size = [], 0
            current.append(piece)
            size += cost
    if current:
        chunks.append(current)
    return chunks


def _overhead(prompt: PromptTemplate, context: EpisodeContext | None = None) -> int:
    context_tokens = estimate_tokens(context_block(context or EpisodeContext())) if prompt.uses_context else 0
    return (
        estimate_tokens(prompt.system)
        + estimate_tokens(json.dumps(tool_for(prompt)))
        + estimate_tokens(prompt.chunk)
        + context_tokens
        + 50
    )


def single_request_params(
    segments: list[dict], *, prompt: PromptTemplate, context: EpisodeContext | None = None
) -> dict[str, Any] | None:
    """The one request that summarizes `segments` (what a Message Batch entry sends), or None
    when the transcript is over SUMMARY_MAX_INPUT_TOKENS and needs the chunked path."""
    lines = transcript_lines(segments, block_seconds=prompt.block_seconds, hours_always=prompt.clock_hours)
    transcript = "\n".join(lines)
    if _overhead(prompt, context) + estimate_tokens(transcript) > settings.SUMMARY_MAX_INPUT_TOKENS:
        return None
    user = prompt.fill(prompt.user, context=context, transcript=transcript, duration=_duration(segments))
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
    duration = _duration(segments)
    lines = transcript_lines(segments, block_seconds=prompt.block_seconds, hours_always=prompt.clock_hours)
    transcript = "\n".join(lines)
    limit = settings.SUMMARY_MAX_INPUT_TOKENS
    overhead = _overhead(prompt, context)
    warnings: list[str] = []
    tool = tool_for(prompt)
    temperature = temperature_for(prompt)
    ads: list[Any] | None = [] if prompt.returns_ads else None

    def ask(user: str, *, collect_ads: bool = True) -> dict[str, Any]:
        message = session.request(system=prompt.system, user=user, tool=tool, temperature=temperature)
        content, reply_ads = reply_parts(message, usage=session.usage)
        if ads is not None and collect_ads and reply_ads:
            ads.extend(reply_ads)
        return content

    if overhead + estimate_tokens(transcript) <= limit:
        content = ask(prompt.fill(prompt.user, context=context, transcript=transcript, duration=duration))
    else:
        # Over the input budget: every line still reaches the model, in parts, then one merge.
        chunks = _chunks(lines, token_limit=max(limit - overhead, 200))
        partials = [
            ask(
                prompt.fill(
                    prompt.chunk_for(i + 1),
                    context=context,
                    transcript="\n".join(chunk),
                    duration=duration,
                    part=i + 1,
                    parts=len(chunks),
                )
            )
            for i, chunk in enumerate(chunks)
        ]
        while len(partials) > 1:
            groups = _chunks([json.dumps(p, ensure_ascii=False) for p in partials], token_limit=max(limit - overhead, 200))
            if len(groups) == len(partials):  # one partial per group cannot shrink: merge pairs
                groups = [[json.dumps(p, ensure_ascii=False) for p in partials[i : i + 2]] for i in range(0, len(partials), 2)]
            partials = [
                ask(prompt.fill(prompt.merge, context=context, transcript="\n".join(group), duration=duration), collect_ads=False)
                for group in groups
            ]
        content = partials[0]
        warnings.append(f"long transcript summarized in {len(chunks)} parts and merged")
    return ProviderOutput(content=content, provider="anthropic", model=model, usage=session.usage, warnings=warnings, ads=ads)
