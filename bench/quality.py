"""Quality benchmark over the shared labelled corpus (../shared/corpus/transcripts, CORPUS_DIR, or --corpus DIR).

Everything is cross-validated leave-one-podcast-out: for each podcast, the
sponsor detector is fitted on the other podcasts' episodes and run on its own,
and the summaries are made with the spans it found there (the pipeline as it
runs on an episode it has never seen). Prints per-episode tables and one line:

    RESULT quality ad_f1=<n> noad_fp=<n> leakage=<n> topic_recall=<n> extractive_3h_s=<n>

- ad_f1: MinusPod's metric, F1 over spans, a prediction matching a labelled span
  at IoU >= 0.5, spans less than 15 s apart merged first (podcasts/sponsors/metric.py).
- noad_fp: spans predicted on the episode(s) whose truth has no ads.
- leakage: items of the extractive summaries (TL;DR sentences, key points, quotes,
  chapter titles and starts, topics) whose source lies inside a *labelled* ad span,
  the summaries made with the *detected* spans (rule: tests/support/corpus.py
  `summary_leaks`, written down in docs/summaries.md). The table also counts the
  leaks of summaries made with the labelled spans, which tells a detector miss
  from the summarizer picking ad copy the spans did not cover.
- topic_recall: the share of the show notes' subject terms (`show_notes_terms`)
  that the summary's topics and chapter titles name (`topic_recall`); the mean
  over episodes with reference terms, at the NOTES_BOOST chosen on the other
  podcasts (`notes_boost_cross_validated`). Also printed without show notes.
- extractive_3h_s: wall time of the extractive summarizer on a 3-hour transcript
  (the corpus's longest episode cut or extended with its own speech, shifted in
  time, to 3 hours), median of 3, libraries already imported.

Run: python bench/quality.py [--corpus DIR]
"""

import argparse
import os
import re
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

from podcasts.sponsors import detect_ad_spans, load_model  # noqa: E402
from podcasts.sponsors.corpus import load_corpus  # noqa: E402
from podcasts.sponsors.training import FoldResult, leave_one_podcast_out, total  # noqa: E402
from summaries.llm import extractive, transcript_summarize  # noqa: E402
from summaries.llm.language import fold, language_get, zipf  # noqa: E402
from summaries.llm.prepare import EpisodeContext  # noqa: E402
from tests.support.corpus import SHARED, CorpusEpisode, episode_load, summary_leaks  # noqa: E402

Spans = list[tuple]  # (start, end, label[, uncertain]) as summaries.llm takes them

# --- Sponsor detection -----------------------------------------------------------------


def ads_section(corpus: Path) -> tuple[dict[str, str], list[FoldResult]]:
    episodes = load_corpus(corpus)
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
    return {"ad_f1": f"{overall.f1:.3f}", "noad_fp": str(noad_fp)}, results


# --- Summaries -----------------------------------------------------------------------------

REFERENCE_TERMS = 8
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of\s+)?[A-Z][\w'’.-]*)*")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _said(term: str, text: str) -> int:
    return f" {text} ".count(f" {term} ")


def show_notes_terms(episode: CorpusEpisode, ads) -> list[str]:
    """The show notes' subject terms a summary should name: names (runs of capitalised words;
    a single one only when it does not open a sentence) and specific words (wordfreq Zipf
    < 4.0, not a stop word) of the plain-text show notes, ending in a word that can be a
    noun (lemminflect), said at least twice in the transcript outside the ad spans and
    never inside them (so sponsors listed in the notes do not count), the podcast's own
    name left out; the REFERENCE_TERMS most said."""
    lang = language_get("en")
    notes = EpisodeContext(description=episode.description).show_notes
    notes = re.sub(r"https?://\S+|\S+@\S+|\b\S+\.(com|org|net|fm|io)\S*", " ", notes)
    inside, outside = [], []
    for segment in episode.segments:
        for word in segment.get("words") or [{"start": segment["start"], "end": segment["start"], "word": segment["text"]}]:
            middle = (word["start"] + word["end"]) / 2
            (inside if any(a <= middle < b for a, b, *_ in ads) else outside).append(word["word"])
    ad_text, rest = fold(" ".join(inside)), fold(" ".join(outside))
    show = set(fold(episode.podcast.replace("-", " ")).split())
    candidates: set[str] = set()
    for match in _NAME.finditer(notes):
        name = match.group()
        at_sentence_start = match.start() == 0 or re.search(r"[.!?:\n]\s*$", notes[: match.start()])
        if len(name.split()) > 1 or not at_sentence_start:
            candidates.add(fold(name))
    for word in _WORD.findall(notes):
        w = word.lower()
        if w not in lang.stop_words and len(w) > 3 and zipf(w) < 4.0:
            candidates.add(fold(w))
    candidates = {c for c in candidates if c and lang.noun_like(c.split()[-1])}
    scored = []
    for term in candidates:
        words = [w for w in term.split() if w not in lang.stop_words]
        if not words or set(words) <= show or any(len(w) < 3 for w in words[:1]):
            continue
        if _said(term, ad_text):
            continue
        count = _said(term, rest)
        if count >= 2:
            scored.append((-count, term))

    def same(a: str, b: str) -> bool:  # "guth" in "amy guth"; "simulation" and "simulations"
        a, b = a.removesuffix("s"), b.removesuffix("s")
        return f" {a} " in f" {b} " or f" {b} " in f" {a} "

    chosen: list[str] = []
    for _, term in sorted(scored):
        if any(same(term, c) for c in chosen):
            continue
        chosen.append(term)
    return chosen[:REFERENCE_TERMS]


def topic_recall(content: dict, terms: list[str]) -> float | None:
    """Share of `terms` named by the summary's topics or chapter titles (a term counts when
    one of its specific words, Zipf < 4.5, appears there as a word)."""
    if not terms:
        return None
    named = " " + " ".join(fold(t) for t in [*content["topics"], *(c["title"] for c in content["chapters"])]) + " "
    lang = language_get("en")
    hits = 0
    for term in terms:
        words = [w for w in term.split() if w not in lang.stop_words and zipf(w) < 4.5] or term.split()
        if any(f" {w} " in named for w in words):
            hits += 1
    return hits / len(terms)


def _summarize(episode: CorpusEpisode, ads: Spans, *, notes: bool = True) -> dict:
    context = EpisodeContext(title=episode.title, podcast=episode.podcast, description=episode.description) if notes else None
    kwargs = {"context": context} if context else {}
    return transcript_summarize(episode.segments, provider="extractive", prompt_version="v3", ads=ads, **kwargs).content


def _three_hours(episode: CorpusEpisode) -> list[dict]:
    """The episode's own segments, repeated (shifted in time) and cut at 3 hours."""
    duration = max(s["end"] for s in episode.segments)
    segments, offset = [], 0.0
    while offset < 3 * 3600:
        for s in episode.segments:
            if s["start"] + offset >= 3 * 3600:
                break
            shifted = {**s, "start": s["start"] + offset, "end": s["end"] + offset}
            if s.get("words"):
                shifted["words"] = [{**w, "start": w["start"] + offset, "end": w["end"] + offset} for w in s["words"]]
            segments.append(shifted)
        offset += duration + 1.0
    return segments


def extractive_wall_seconds(episode: CorpusEpisode, ads: Spans) -> float:
    segments = _three_hours(episode)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        transcript_summarize(segments, provider="extractive", prompt_version="v3", ads=ads)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


NOTES_BOOST_GRID = (1.0, 1.8, 3.0, 5.0)


def notes_boost_cross_validated(episodes: list[CorpusEpisode], detected: dict[str, Spans]) -> dict:
    """The one fitted number, extractive.NOTES_BOOST, chosen leave-one-podcast-out: for each
    podcast, the grid value with the best mean topic recall on the other podcasts' episodes,
    then scored on the held-out podcast's episodes. Returns the held-out recall per episode."""
    recall: dict[tuple[str, float], float | None] = {}
    saved = extractive.NOTES_BOOST
    try:
        for boost in NOTES_BOOST_GRID:
            extractive.NOTES_BOOST = boost
            for e in episodes:
                recall[(e.name, boost)] = topic_recall(_summarize(e, detected[e.name]), show_notes_terms(e, e.ads))
    finally:
        extractive.NOTES_BOOST = saved
    held_out: dict[str, tuple[float, float | None]] = {}
    for podcast in sorted({e.podcast for e in episodes}):
        train = [e.name for e in episodes if e.podcast != podcast and recall[(e.name, NOTES_BOOST_GRID[0])] is not None]

        def train_score(boost: float, train: list[str] = train) -> float:
            return statistics.mean(recall[(n, boost)] for n in train) if train else 0.0

        best = max(NOTES_BOOST_GRID, key=lambda b: (train_score(b), -abs(b - saved)))
        for e in episodes:
            if e.podcast == podcast:
                held_out[e.name] = (best, recall[(e.name, best)])
    scored = [r for _, r in held_out.values() if r is not None]
    return {"per_episode": held_out, "topic_recall": statistics.mean(scored) if scored else 0.0}


def summaries_section(corpus: Path, folds: list[FoldResult]) -> dict[str, str]:
    detected = {r.episode.name: [(p.start, p.end, p.label, p.uncertain) for p in r.predicted] for r in folds}
    episodes = [episode_load(corpus / name) for name in sorted(detected)]
    print("## Extractive summaries made with the detected spans (leave-one-podcast-out)\n")
    print(f"| {'episode':<44} |  min | ads | leaks | leaks, labelled spans | recall | no notes | wall s | reference terms")
    print(f"| {'-' * 44} | ---: | --: | ----: | -------------------: | -----: | -------: | -----: | ---")
    rows = []
    for episode in episodes:
        started = time.perf_counter()
        content = _summarize(episode, detected[episode.name])
        seconds = time.perf_counter() - started
        terms = show_notes_terms(episode, episode.ads)
        row = {
            "episode": episode,
            "leaks": summary_leaks(content, episode.segments, episode.ads),
            "leaks_truth": summary_leaks(_summarize(episode, episode.ads), episode.segments, episode.ads),
            "recall": topic_recall(content, terms),
            "bare": topic_recall(_summarize(episode, detected[episode.name], notes=False), terms),
        }
        rows.append(row)
        minutes = round(max(s["end"] for s in episode.segments) / 60)
        recall = "-" if row["recall"] is None else f"{row['recall']:.2f}"
        bare = "-" if row["bare"] is None else f"{row['bare']:.2f}"
        print(
            f"| {episode.name:<44} | {minutes:4} | {len(detected[episode.name]):3} | {len(row['leaks']):5} "
            f"| {len(row['leaks_truth']):20} | {recall:>6} | {bare:>8} | {seconds:6.2f} | {', '.join(terms)}"
        )
    for row in rows:
        for leak in row["leaks"]:
            print(f"    leak ({row['episode'].name}): {leak}")
        for leak in row["leaks_truth"]:
            print(f"    leak with labelled spans ({row['episode'].name}): {leak}")
    scored = [r for r in rows if r["recall"] is not None]
    cv = notes_boost_cross_validated(episodes, detected)
    print(f"\ntopic recall without the show notes as context: {statistics.mean(r['bare'] for r in scored):.2f}")
    print(f"topic recall at the shipped NOTES_BOOST={extractive.NOTES_BOOST} (in-sample): ", end="")
    print(f"{statistics.mean(r['recall'] for r in scored):.2f}")
    print("NOTES_BOOST chosen on the other podcasts, and the held-out recall:")
    for name, (boost, recall) in cv["per_episode"].items():
        print(f"    {name:44} boost={boost:<4} recall={'-' if recall is None else f'{recall:.2f}'}")
    longest = max(episodes, key=lambda e: max(s["end"] for s in e.segments))
    wall = extractive_wall_seconds(longest, detected[longest.name])
    print(f"extractive summarizer on 3 h (from {longest.name}): {wall:.2f} s, median of 3\n")
    return {
        "leakage": str(sum(len(r["leaks"]) for r in rows)),
        "topic_recall": f"{cv['topic_recall']:.2f}",
        "extractive_3h_s": f"{wall:.2f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(SHARED))
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        sys.exit(f"No such corpus folder: {corpus}")
    fields, folds = ads_section(corpus)
    fields.update(summaries_section(corpus, folds))
    print("RESULT quality " + " ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main()
