"""Quality benchmark over the shared labelled corpus (../shared/corpus/transcripts, or --corpus DIR).

Section "ads": the offline sponsor detector scored leave-one-podcast-out (for
each podcast, fit on the other podcasts' episodes and detect on its own), with
MinusPod's metric: F1 over spans, a prediction matching a labelled span at
IoU >= 0.5, spans less than 15 s apart merged first. Prints the per-episode
table, the false positives on the no-ad episode(s), and the detector's wall
time with the committed model (per episode and per hour of audio).

Other sections (the summarizer's leakage, topic recall, 3-hour wall time) add
their own function returning a dict of RESULT fields; main() joins them into
the one `RESULT quality ...` line.

Run: python bench/quality.py [--corpus DIR]
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")

import django  # noqa: E402

django.setup()

from podcasts.sponsors import detect_ad_spans, load_model  # noqa: E402
from podcasts.sponsors.corpus import CorpusEpisode, load_corpus  # noqa: E402
from podcasts.sponsors.training import leave_one_podcast_out, total  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "transcripts"


def ads_section(episodes: list[CorpusEpisode]) -> dict[str, str]:
    started = time.perf_counter()
    results = leave_one_podcast_out(episodes)
    cv_seconds = time.perf_counter() - started
    print("## Sponsor detection, leave-one-podcast-out (F1 at IoU >= 0.5, spans < 15 s apart merged)\n")
    print(f"| {'episode':<44} | truth | predicted | TP | FP | FN |   F1 |")
    print(f"| {'-' * 44} | ----: | --------: | -: | -: | -: | ---: |")
    for r in results:
        s = r.score
        print(f"| {r.episode.name:<44} | {s.truth:5} | {s.predicted:9} | {s.tp:2} | {s.fp:2} | {s.fn:2} | {s.f1:4.2f} |")
    overall = total(results)
    print(
        f"| {'overall':<44} | {overall.truth:5} | {overall.predicted:9} | {overall.tp:2} | {overall.fp:2} | {overall.fn:2} | {overall.f1:4.2f} |"
    )
    noad_fp = sum(r.score.predicted for r in results if not r.episode.truth)
    print(f"\nfalse positives on episodes without ads: {noad_fp}; cross-validation took {cv_seconds:.1f} s")

    load_model()  # the committed artifact, parsed once per process
    audio_hours = sum(e.duration for e in episodes) / 3600
    started = time.perf_counter()
    for episode in episodes:
        detect_ad_spans(episode.segments, title=episode.title, description=episode.description)
    detect_seconds = time.perf_counter() - started
    longest = max(episodes, key=lambda e: e.duration)
    started = time.perf_counter()
    detect_ad_spans(longest.segments, title=longest.title, description=longest.description)
    longest_seconds = time.perf_counter() - started
    print(
        f"detector wall time (committed model): {detect_seconds:.2f} s for {audio_hours:.1f} h of audio "
        f"({detect_seconds / audio_hours:.2f} s per hour); longest episode ({longest.duration / 3600:.1f} h) "
        f"{longest_seconds:.2f} s\n"
    )
    return {"ad_f1": f"{overall.f1:.3f}", "noad_fp": str(noad_fp)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        sys.exit(f"No such corpus folder: {corpus}")
    episodes = load_corpus(corpus)
    fields: dict[str, str] = {}
    fields.update(ads_section(episodes))
    print("RESULT quality " + " ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main()
