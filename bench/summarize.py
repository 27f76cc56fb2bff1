"""Benchmark summarization on a generated 1-hour and 3-hour episode (no network, no database).

Extractive: wall time (median of 3, scikit-learn already imported).
Anthropic: the real SDK against tests/fakes/anthropic_server.py, whose usage
counts ~3.5 characters per token of everything sent; cost from the settings'
price table at the default model's list price.

OpenAI-compatible (`python bench/summarize.py openai`, ~6 min on 2 idle cores: a real model
on the CPU): the 1-hour episode through the real llama-cpp-python server (Gemma 3 270M, tests/
support/llama_server.py) at a 2,048- and a 32,768-token context, behind a recording proxy
that sees what reached the server. Replies are held to BENCH_OPENAI_MAX_OUTPUT tokens (the
compact reply shape) to keep it feasible; every request's prompt is sized as in production.
Reports requests per summary (counted by the proxy, the refused json_schema probe included),
wall time per 1,000 prompt tokens the server reported, and coverage: the share of the
transcript's words found in the requests the server answered.

The tiny model's reply to some part is often schema-invalid (repeated key points, say), which
in production fails the summary. The benchmark measures the request plan, not the model: it
drives the provider's own session and chunking, and a part or merge whose reply fails
validation is counted (`valid` column, `complete=no`) and stood in for by a small placeholder
summary so that the remaining parts and the merges are still sent. Merges of placeholders are
shorter than merges of real part summaries, so a run with invalid replies may need a merge
request fewer than a fully valid one.

Run: python bench/summarize.py [openai]
"""

import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from summaries.llm import (  # noqa: E402
    MalformedReply,
    NoBudget,
    ProviderOutput,
    output_verify,
    transcript_input,
    transcript_summarize,
)
from summaries.llm import openai as openai_provider  # noqa: E402
from summaries.llm.base import estimate_tokens  # noqa: E402
from summaries.llm.chunking import summarize_in_parts  # noqa: E402
from summaries.prompts import prompt_get, transcript_lines  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropic  # noqa: E402
from tests.fakes.transcripts import long_transcript  # noqa: E402
from tests.support.llama_server import MODEL_NAME, llama_server  # noqa: E402
from tests.support.recording_proxy import RecordingProxy, sent_text, transcript_coverage  # noqa: E402

BENCH_OPENAI_MAX_OUTPUT = int(os.environ.get("BENCH_OPENAI_MAX_OUTPUT", "256"))


def extractive_seconds(segments) -> float:
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        transcript_summarize(segments, provider="extractive", prompt_version=settings.SUMMARY_PROMPT_VERSION)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    started = time.perf_counter()
    transcript_summarize(long_transcript(0.1)["segments"], provider="extractive", prompt_version="v2")
    print(f"warm-up (imports scikit-learn): {time.perf_counter() - started:.2f} s")

    server = FakeAnthropic().start()
    settings.ANTHROPIC_API_KEY = "bench-key"
    settings.ANTHROPIC_BASE_URL = server.url
    model = settings.ANTHROPIC_MODEL
    version = settings.SUMMARY_PROMPT_VERSION
    rows = {}
    try:
        for hours in (1, 3):
            transcript = long_transcript(hours)
            segments = transcript["segments"]
            seconds = extractive_seconds(segments)
            before = len(server.requests)
            result = transcript_summarize(segments, provider="anthropic", prompt_version=version)
            requests = len(server.requests) - before
            rows[hours] = {
                "words": len(transcript["text"].split()),
                "extractive_s": seconds,
                "input_tokens": result.usage.input_tokens,
                "output_tokens": result.usage.output_tokens,
                "cost": float(result.usage.cost_usd),
                "requests": requests,
                "quotes": len(result.content["quotes"]),
            }
    finally:
        server.stop()

    print(f"model {model} (prompt {version}), price {settings.LLM_PRICES_USD_PER_MTOK.get(model)} USD/MTok")
    print(
        f"{'episode':>8} {'words':>7} {'extractive s':>13} {'tokens in':>10} {'tokens out':>11} {'usd':>9} {'usd/hour':>9} {'requests':>9}"
    )
    for hours, row in rows.items():
        print(
            f"{hours:>7}h {row['words']:>7} {row['extractive_s']:>13.3f} {row['input_tokens']:>10} "
            f"{row['output_tokens']:>11} {row['cost']:>9.5f} {row['cost'] / hours:>9.5f} {row['requests']:>9}"
        )
    ratio_time = rows[3]["extractive_s"] / rows[1]["extractive_s"]
    ratio_tokens = rows[3]["input_tokens"] / rows[1]["input_tokens"]
    print(f"3h/1h ratios: extractive time x{ratio_time:.2f}, input tokens x{ratio_tokens:.2f}")
    usd_per_hour = max(row["cost"] / hours for hours, row in rows.items())
    requests = max(row["requests"] for row in rows.values())
    print(
        f"RESULT summarize extractive_3h_s={rows[3]['extractive_s']:.3f} "
        f"usd_per_episode_hour={usd_per_hour:.4f} requests_per_summary={requests}"
    )


# What stands in for a reply that failed validation, so the rest of the plan is still sent.
PLACEHOLDER = {
    "tldr": "This part's reply failed validation.",
    "key_points": ["Placeholder point one.", "Placeholder point two.", "Placeholder point three."],
    "quotes": [],
    "chapters": [{"title": "Placeholder", "start": 0.0}],
    "topics": ["placeholder"],
}


def openai_run(segments, *, context_tokens: int) -> dict:
    """One summary of `segments` through the real server at `context_tokens`."""
    load = os.getloadavg()[0]  # the server runs one thread instead of two on busy cores (llama_server)
    with llama_server(n_ctx=context_tokens) as url, RecordingProxy(url) as proxy:
        settings.SUMMARY_PROVIDER = "openai"
        settings.OPENAI_BASE_URL = proxy.url
        settings.OPENAI_MODEL = MODEL_NAME
        settings.OPENAI_CONTEXT_TOKENS = context_tokens
        settings.OPENAI_MAX_OUTPUT_TOKENS = BENCH_OPENAI_MAX_OUTPUT
        settings.OPENAI_TIMEOUT = 1800.0
        settings.OPENAI_MAX_RETRIES = 0
        settings.SUMMARY_DEADLINE_SECONDS = 4 * 3600.0
        settings.LLM_PRICES_USD_PER_MTOK = {**settings.LLM_PRICES_USD_PER_MTOK, MODEL_NAME: {"input": 0.0, "output": 0.0}}
        openai_provider.accepted_modes_forget()
        prompt = prompt_get(settings.SUMMARY_PROMPT_VERSION)
        given = transcript_input(segments)
        prepared = given.prepared
        lines = transcript_lines(prepared, block_seconds=prompt.block_seconds, hours_always=prompt.clock_hours)
        session = openai_provider.Session(budget=NoBudget(), prompt=prompt)
        invalid: list[str] = []

        def ask(user: str):
            try:
                return session.ask(user)
            except MalformedReply as exc:
                invalid.append(f"{exc.reason}: {exc.detail[:160]}")
                return dict(PLACEHOLDER), None

        started = time.perf_counter()
        done = summarize_in_parts(
            prepared, prompt=prompt, token_limit=openai_provider.input_limit(), overhead=openai_provider.overhead(prompt), ask=ask
        )
        seconds = time.perf_counter() - started
        answered = proxy.answered
        prompt_tokens = sum(r["usage"]["prompt_tokens"] for _, r in answered)
        result = None
        if not invalid:  # what production would store: the same checks as transcript_summarize's last step
            output = ProviderOutput(content=done.content, provider="openai", model=MODEL_NAME, usage=session.usage, ads=done.ads)
            result = output_verify(output, given=given, prompt_version=prompt.version)
        return {
            "context": context_tokens,
            "load": load,
            "transcript_tokens": estimate_tokens("\n".join(lines)),
            "room": openai_provider.input_limit() - openai_provider.overhead(prompt),
            "requests": len(proxy.exchanges),
            "refused": len(proxy.exchanges) - len(answered),
            "answered": len(answered),
            "valid": len(answered) - len(invalid),
            "invalid": invalid,
            # Merge requests carry part summaries; the others, transcript lines (the whole, or one part).
            "merges": sum("<part_summaries>\n" in sent_text(request) for request, _ in answered),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": sum(r["usage"]["completion_tokens"] for _, r in answered),
            "max_prompt": max((r["usage"]["prompt_tokens"] for _, r in answered), default=0),
            "seconds": seconds,
            "s_per_1k": seconds / (prompt_tokens / 1000) if prompt_tokens else float("nan"),
            "coverage": transcript_coverage(proxy, prepared),
            "ads_kept": len(result.model_ads) if result else None,
            "ads_dropped": len(result.dropped_ads) if result else None,
        }


def main_openai() -> None:
    segments = long_transcript(1)["segments"]
    rows = []
    for n in (2048, 32768):
        rows.append(openai_run(segments, context_tokens=n))
        print(rows[-1], flush=True)
    print(f"openai provider, llama-cpp-python server, {MODEL_NAME}, replies <= {BENCH_OPENAI_MAX_OUTPUT} tokens, 1 h episode")
    print(
        f"{'context':>8} {'requests':>9} {'refused':>8} {'parts':>6} {'merges':>7} {'valid':>6} {'prompt tok':>11} "
        f"{'max prompt':>11} {'out tok':>8} {'wall s':>8} {'s/1k prompt':>12} {'coverage':>9}"
    )
    for row in rows:
        parts = row["answered"] - row["merges"]
        print(
            f"{row['context']:>8} {row['requests']:>9} {row['refused']:>8} {parts:>6} {row['merges']:>7} "
            f"{row['valid']:>3}/{row['answered']:<2} {row['prompt_tokens']:>11} {row['max_prompt']:>11} "
            f"{row['completion_tokens']:>8} {row['seconds']:>8.1f} {row['s_per_1k']:>12.2f} {row['coverage']:>9.3f}"
        )
    for row in rows:
        print(
            f"{row['context']:>8}: transcript ~{row['transcript_tokens']} tokens (3 chars/token) / {row['room']} per part "
            f"= at least {math.ceil(row['transcript_tokens'] / row['room'])} parts (parts end on whole [h:mm:ss] lines); "
            f"+ merges + the refused json_schema probe"
        )
        print(f"{row['context']:>8}: load average {row['load']:.2f} when its server started")
        for reason in row["invalid"]:
            print(f"{row['context']:>8}: invalid reply: {reason}")
    small, large = rows
    print(
        f"32k/2k ratios: requests x{large['requests'] / small['requests']:.3f}, wall time x{large['seconds'] / small['seconds']:.2f}"
    )
    complete = not small["invalid"] and not large["invalid"]
    print(
        f"RESULT summarize_openai requests_1h_2k={small['requests']} requests_1h_32k={large['requests']} "
        f"coverage={min(small['coverage'], large['coverage']):.3f} "
        f"s_per_1k_prompt_2k={small['s_per_1k']:.2f} s_per_1k_prompt_32k={large['s_per_1k']:.2f} "
        f"valid_2k={small['valid']}/{small['answered']} valid_32k={large['valid']}/{large['answered']} "
        f"complete={'yes' if complete else 'no'}"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["openai"]:
        main_openai()
    else:
        main()
