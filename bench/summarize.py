"""Benchmark summarization on a generated 1-hour and 3-hour episode (no network, no database).

Extractive: wall time (median of 3, scikit-learn already imported).
Anthropic: the real SDK against tests/fakes/anthropic_server.py, whose usage
counts ~3.5 characters per token of everything sent; cost from the settings'
price table at the default model's list price.

Run: python bench/summarize.py
"""

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

from summaries.llm import transcript_summarize  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropic  # noqa: E402
from tests.fakes.transcripts import long_transcript  # noqa: E402


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
    print(f"{'episode':>8} {'words':>7} {'extractive s':>13} {'tokens in':>10} {'tokens out':>11} {'usd':>9} {'usd/hour':>9} {'requests':>9}")
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


if __name__ == "__main__":
    main()
