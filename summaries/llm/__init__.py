"""Summary providers (the only code that talks to an LLM) and the database-free summarize step.

`transcript_summarize` is what the pipeline, the regeneration worker and the
`summarize_transcript` command share: provider call → schema validation →
quote verification. It touches no database; token accounting reaches the
database only through the `budget` object the caller passes in.

Providers are modules named by import path in PROVIDER_MODULES, loaded on first
use: the anthropic SDK and scikit-learn stay out of processes that never summarize.
"""

from importlib import import_module
from typing import Any

from summaries.llm.base import (
    BATCH_PRICE_FACTOR,
    Budget,
    BudgetExceeded,
    CHARS_PER_TOKEN,
    EXTRACTIVE_MODEL,
    MalformedReply,
    NoBudget,
    PROVIDERS,
    ProviderError,
    ProviderOutput,
    ProviderRejected,
    ProviderUnavailable,
    SummaryResult,
    TranscriptTooShort,
    Usage,
    cost_usd,
    estimate_tokens,
    price_for,
    provider_default,
    provider_model,
    segments_clean,
    source_hash,
)
from summaries.prompts import prompt_get
from summaries.quotes import quotes_verify

PROVIDER_MODULES = {
    "anthropic": "summaries.llm.anthropic",
    "extractive": "summaries.llm.extractive",
}


def transcript_summarize(
    segments: list[dict[str, Any]], *, provider: str, prompt_version: str, budget: Budget | None = None, language: str = ""
) -> SummaryResult:
    """Summarize, validate, verify quotes. Raises ProviderError subclasses.

    `language` (the transcript's) lets the extractive summarizer pick its stop words.
    """
    prompt = prompt_get(prompt_version)
    segments = segments_clean(segments)
    if not segments:
        raise ValueError("the transcript has no text")
    if provider not in PROVIDER_MODULES:
        raise ValueError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    summarize = import_module(PROVIDER_MODULES[provider]).summarize
    extra = {"language": language} if provider == "extractive" else {}
    output = summarize(segments, prompt=prompt, budget=budget or NoBudget(), **extra)
    return output_verify(output, segments=segments, prompt_version=prompt.version)


def output_verify(output: ProviderOutput, *, segments: list[dict[str, Any]], prompt_version: str) -> SummaryResult:
    """Quote verification against the (cleaned) segments: the last step every provider output takes."""
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
