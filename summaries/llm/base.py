"""What every summary provider shares: errors, usage and cost, token estimates,
the provider output, transcript cleaning. Providers (summaries.llm.anthropic,
summaries.llm.extractive) import this module; summaries.llm dispatches to them.
"""

import hashlib
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings

EXTRACTIVE_MODEL = "extractive-tfidf-2"
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
    # Ad spans the model reported (raw, checked in output_verify); None: the provider reports none.
    ads: list[Any] | None = None


@dataclass
class SummaryResult:
    content: dict[str, Any]
    provider: str
    model: str
    prompt_version: str
    usage: Usage
    warnings: list[str]
    dropped_quotes: list[dict[str, Any]]
    # Every ad span the summary avoided (given + the model's verified ones), as {start, end, label}.
    ads: list[dict[str, Any]] = field(default_factory=list)
    model_ads: list[dict[str, Any]] = field(default_factory=list)
    # The model's ad spans that did not match the transcript, each with the reason.
    dropped_ads: list[dict[str, Any]] = field(default_factory=list)


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


def cost_usd(
    model: str, *, input_tokens: int, output_tokens: int, cache_write_tokens: int = 0, cache_read_tokens: int = 0
) -> Decimal:
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


def source_hash(*, text: str, prompt_version: str, model: str, ads: list[list[float]] | None = None) -> str:
    """sha256 of what a summary is made from. `ads` (the spans it is made without, as
    [start, end] pairs) is hashed only when there are some, so a transcript without ads
    keeps the hash it had before spans existed."""
    digest = hashlib.sha256()
    parts = [text, prompt_version, model]
    if ads:
        parts.append(";".join(f"{start:.2f}-{end:.2f}" for start, end in ads))
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _words_clean(words: Any) -> list[dict[str, Any]]:
    """Word timings kept only when every entry has a numeric start/end and a word."""
    if not isinstance(words, list) or not words:
        return []
    cleaned = []
    for word in words:
        if not isinstance(word, dict) or not isinstance(word.get("word"), str):
            return []
        try:
            start, end = float(word["start"]), float(word.get("end", word["start"]))
        except (KeyError, TypeError, ValueError):
            return []
        if not (math.isfinite(start) and math.isfinite(end)):
            return []
        cleaned.append({"start": start, "end": max(end, start), "word": word["word"]})
    return cleaned


def segments_clean(segments: Any) -> list[dict[str, Any]]:
    """Segments with float times and non-empty text, in time order (word timings kept when
    well-formed); ValueError on a bad shape."""
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
            raise ValueError(f"segment {index} has an invalid start or end") from None
        text = " ".join(str(segment["text"]).split())
        if text:
            item = {"start": start, "end": max(end, start), "text": text}
            words = _words_clean(segment.get("words"))
            if words:
                item["words"] = words
            cleaned.append(item)
    cleaned.sort(key=lambda s: s["start"])
    return cleaned
