"""Summary providers (the only code that talks to an LLM) and the database-free summarize step.

`transcript_summarize` is what the pipeline, the regeneration worker and the
`summarize_transcript` command share: provider call → schema validation →
quote verification. It touches no database; token accounting reaches the
database only through the `budget` object the caller passes in.

Providers are modules named by import path in PROVIDER_MODULES, loaded on first
use: the anthropic SDK and scikit-learn stay out of processes that never summarize.
"""

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from podcasts.sponsors.guard import summary_avoid_spans
from summaries.llm.base import (
    BATCH_PRICE_FACTOR,
    CHARS_PER_TOKEN,
    EXTRACTIVE_MODEL,
    PROVIDERS,
    Budget,
    BudgetExceeded,
    MalformedReply,
    NoBudget,
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
from summaries.llm.prepare import EpisodeContext, Span, ad_spans_normalize, ad_spans_verify, chapters_check, transcript_prepare
from summaries.prompts import prompt_get
from summaries.quotes import quotes_verify

PROVIDER_MODULES = {
    "anthropic": "summaries.llm.anthropic",
    "openai": "summaries.llm.openai",
    "extractive": "summaries.llm.extractive",
}


@dataclass
class TranscriptInput:
    """A transcript as the providers get it: `prepared` (ads and filler out) for summarizing,
    `full` for checking a model's ad spans, `ads` the transcript's ad spans (stored with the
    summary), `avoid` what was taken out: the spans widened and the ad copy they missed
    (podcasts/sponsors/guard.py)."""

    full: list[dict[str, Any]]
    prepared: list[dict[str, Any]]
    ads: list[Span]
    avoid: list[Span]


def transcript_input(segments: Any, *, ads: Any = None, language: str = "en") -> TranscriptInput:
    """Clean and prepare raw segments; ValueError on a bad shape or an empty transcript,
    TranscriptTooShort when nothing but ads and filler is left."""
    full = segments_clean(segments)
    if not full:
        raise ValueError("the transcript has no text")
    spans = ad_spans_normalize(ads)
    duration = max(s["end"] for s in full)
    avoid = ad_spans_normalize(
        summary_avoid_spans(
            full,
            exact=[(s.start, s.end) for s in spans if not s.uncertain],
            uncertain=[(s.start, s.end) for s in spans if s.uncertain],
            duration=duration,
        )
    )
    prepared = transcript_prepare(full, ads=avoid, language=language)
    if not prepared:
        # The guard is a precaution; a transcript it empties still gets summarized without it.
        avoid = spans
        prepared = transcript_prepare(full, ads=avoid, language=language)
    if not prepared:
        raise TranscriptTooShort("nothing but ads and filler in the transcript")
    return TranscriptInput(full=full, prepared=prepared, ads=spans, avoid=avoid)


def transcript_summarize(
    segments: list[dict[str, Any]],
    *,
    provider: str,
    prompt_version: str,
    budget: Budget | None = None,
    ads: Any = None,
    context: EpisodeContext | None = None,
) -> SummaryResult:
    """Prepare (ads and filler out), summarize, validate, verify. Raises ProviderError subclasses.

    `ads`: the transcript's ad spans (dicts, tuples or detector spans); `context`: what
    the feed says about the episode (titles, show notes, hosts)."""
    prompt = prompt_get(prompt_version)
    context = context if context is not None else EpisodeContext()
    given = transcript_input(segments, ads=ads, language=context.language)
    if provider not in PROVIDER_MODULES:
        raise ValueError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    summarize = import_module(PROVIDER_MODULES[provider]).summarize
    output = summarize(given.prepared, prompt=prompt, budget=budget or NoBudget(), context=context)
    return output_verify(output, given=given, prompt_version=prompt.version)


def output_verify(output: ProviderOutput, *, given: TranscriptInput, prompt_version: str) -> SummaryResult:
    """The last step every provider output takes, against the transcript it was given
    (transcript_input): the model's ad spans checked against the full transcript; quotes found
    in the prepared transcript (so none from an ad or filler), starting at their first word,
    and none inside what was taken out (`given.avoid`); chapters checked against the
    transcript and the duration, none starting there either. The given and the model's
    spans are stored."""
    segments, full_segments = given.prepared, given.full
    duration = max(s["end"] for s in full_segments)
    model_ads, dropped_ads = (
        ad_spans_verify(output.ads, segments=full_segments, duration=duration) if output.ads is not None else ([], [])
    )
    spans = ad_spans_normalize([*given.ads, *model_ads])
    kept_out = ad_spans_normalize([*given.avoid, *model_ads])
    content = dict(output.content)
    verified, dropped = quotes_verify(content["quotes"], segments)
    in_ads = [q for q in verified if _in_spans(q["start"], kept_out)]
    verified = [q for q in verified if q not in in_ads]
    dropped += [{**q, "reason": "inside an ad span"} for q in in_ads]
    content["quotes"] = verified
    chapters, chapter_warnings = chapters_check(content["chapters"], segments=segments, ads=kept_out, duration=duration)
    content["chapters"] = chapters
    warnings = list(output.warnings) + chapter_warnings
    warnings += [f"unverified quote dropped: {q['text'][:120]!r}" for q in dropped]
    warnings += [f"unverified ad span dropped ({d['reason']}): {str(d['span'])[:120]}" for d in dropped_ads]
    return SummaryResult(
        content=content,
        provider=output.provider,
        model=output.model,
        prompt_version=prompt_version,
        usage=output.usage,
        warnings=warnings,
        dropped_quotes=dropped,
        ads=[s.as_dict() for s in spans],
        model_ads=[s.as_dict() for s in model_ads],
        dropped_ads=dropped_ads,
    )


def _in_spans(t: float, spans: list[Span]) -> bool:
    return any(s.contains(t) for s in spans)
