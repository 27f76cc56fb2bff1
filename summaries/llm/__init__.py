"""Summary providers (the only code that talks to an LLM) and the database-free summarize step.

`transcript_summarize` is what the pipeline, the regeneration worker and the
`summarize_transcript` command share: provider call → schema validation →
quote verification. It touches no database; token accounting reaches the
database only through the `budget` object the caller passes in.
"""

import hashlib
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings

EXTRACTIVE_MODEL = "extractive-tfidf-1"
PROVIDERS = ("anthropic", "openai", "extractive")
# Conservative characters per token for English (Claude's tokenizer averages ~3.5-4):
# overestimating keeps requests under the input budget and the daily budget closed.
CHARS_PER_TOKEN = 3.0
# Message Batches cost half the list price (input, output and cache tokens alike).
BATCH_PRICE_FACTOR = Decimal("0.5")


class ProviderError(Exception):
    """Base of every provider failure."""

    transient = False


class MalformedReply(ProviderError):
    """The model answered, but not with a valid summary (unparseable, schema-invalid, empty,
    refusal, truncated). Carries the raw reply for the curation item."""

    def __init__(self, reason: str, detail: str, *, raw: str, usage: "Usage | None" = None):
        self.reason = reason
        self.detail = detail
        self.raw = raw
        self.usage = usage or Usage()
        super().__init__(f"{reason}: {detail}")


class ProviderUnavailable(ProviderError):
    """Rate limits, overload, 5xx, timeouts: still failing after the bounded retries."""

    transient = True


class ProviderRejected(ProviderError):
    """The API refused the request itself (bad key, bad request): retrying will not help."""


class TranscriptTooShort(ProviderRejected):
    """Too little speech for a summary that meets the schema (e.g. a 10-second clip)."""


class BudgetExceeded(ProviderError):
    """LLM_DAILY_TOKEN_BUDGET would be exceeded by the next request."""

    transient = True


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    cost_usd: Decimal = Decimal("0")

    def add(self, other: "Usage") -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.requests += other.requests
        self.cost_usd += other.cost_usd


class Budget(Protocol):
    """Daily token accounting, reached by providers around every request."""

    def reserve(self, tokens: int) -> Any: ...  # raises BudgetExceeded

    def settle(self, reservation: Any, usage: Usage) -> None: ...


class NoBudget:
    """For the database-free command and benchmarks: counts nothing, refuses nothing."""

    def reserve(self, tokens: int) -> None:
        return None

    def settle(self, reservation: Any, usage: Usage) -> None:
        return None


@dataclass
class ProviderOutput:
    content: dict[str, Any]  # validated against summaries.schema
    provider: str
    model: str
    usage: Usage
    warnings: list[str] = field(default_factory=list)


@dataclass
class SummaryResult:
    content: dict[str, Any]
    provider: str
    model: str
    prompt_version: str
    usage: Usage
    warnings: list[str]
    dropped_quotes: list[dict[str, Any]]


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def price_for(model: str) -> dict[str, float] | None:
    """USD per million tokens for `model`: exact name, else the longest matching prefix
    (so a dated snapshot like claude-haiku-4-5-20251001 uses claude-haiku-4-5's price)."""
    table = settings.LLM_PRICES_USD_PER_MTOK
    if model in table:
        return table[model]
    matches = [name for name in table if model.startswith(name)]
    return table[max(matches, key=len)] if matches else None


def cost_usd(model: str, *, input_tokens: int, output_tokens: int, cache_write_tokens: int = 0, cache_read_tokens: int = 0) -> Decimal:
    price = price_for(model)
    if price is None:
        raise ProviderRejected(f"no price for model {model!r} in LLM_PRICES_USD_PER_MTOK")
    micro = (
        input_tokens * price["input"]
        + output_tokens * price["output"]
        + cache_write_tokens * price.get("cache_write", price["input"] * 1.25)
        + cache_read_tokens * price.get("cache_read", price["input"] * 0.1)
    )
    return (Decimal(str(micro)) / Decimal(1_000_000)).quantize(Decimal("0.000001"))


def provider_default() -> str:
    return settings.SUMMARY_PROVIDER


def provider_model(provider: str) -> str:
    """The model name a provider will use (part of the source hash)."""
    if provider == "anthropic":
        return settings.ANTHROPIC_MODEL
    if provider == "openai":
        return settings.OPENAI_MODEL
    if provider == "extractive":
        return EXTRACTIVE_MODEL
    raise ValueError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")


def source_hash(*, text: str, prompt_version: str, model: str) -> str:
    digest = hashlib.sha256()
    for part in (text, prompt_version, model):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def segments_clean(segments: Any) -> list[dict[str, Any]]:
    """Segments with float times and non-empty text, in time order; ValueError on a bad shape."""
    if not isinstance(segments, list):
        raise ValueError("segments must be a list")
    cleaned = []
    for index, segment in enumerate(segments):
        if not isinstance(segment, dict) or "text" not in segment or "start" not in segment:
            raise ValueError(f"segment {index} needs start and text")
        try:
            start = float(segment["start"])
            end = float(segment.get("end", start))
        except (TypeError, ValueError):
            raise ValueError(f"segment {index} has a non-numeric start or end") from None
        if not math.isfinite(start) or start < 0 or not math.isfinite(end):
            raise ValueError(f"segment {index} has an invalid start or end")
        text = " ".join(str(segment["text"]).split())
        if text:
            cleaned.append({"start": start, "end": max(end, start), "text": text})
    cleaned.sort(key=lambda s: s["start"])
    return cleaned


def transcript_summarize(
    segments: list[dict[str, Any]], *, provider: str, prompt_version: str, budget: Budget | None = None
) -> SummaryResult:
    """Summarize, validate, verify quotes. Raises ProviderError subclasses."""
    from summaries.prompts import prompt_get

    prompt = prompt_get(prompt_version)
    segments = segments_clean(segments)
    if not segments:
        raise ValueError("the transcript has no text")
    if provider == "anthropic":
        from summaries.llm.anthropic import summarize
    elif provider == "openai":
        from summaries.llm.openai import summarize
    elif provider == "extractive":
        from summaries.llm.extractive import summarize
    else:
        raise ValueError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    output = summarize(segments, prompt=prompt, budget=budget or NoBudget())
    return output_verify(output, segments=segments, prompt_version=prompt.version)


def output_verify(output: ProviderOutput, *, segments: list[dict[str, Any]], prompt_version: str) -> SummaryResult:
    """Quote verification against the (cleaned) segments: the last step every provider output takes."""
    from summaries.quotes import quotes_verify

    content = dict(output.content)
    verified, dropped = quotes_verify(content["quotes"], segments)
    content["quotes"] = verified
    warnings = list(output.warnings)
    warnings += [f"unverified quote dropped: {q['text'][:120]!r}" for q in dropped]
    return SummaryResult(
        content=content,
        provider=output.provider,
        model=output.model,
        prompt_version=prompt_version,
        usage=output.usage,
        warnings=warnings,
        dropped_quotes=dropped,
    )
