"""Summary quality on the real corpus: ad leakage, topic recall against the show notes, 3-hour wall time.

`summaries_quality(episode_dirs, ads_by_episode)` is the function bench/quality.py
calls with the detector's spans; run standalone, this file uses the human-labelled
spans of truth.txt. Per episode and overall:

- leakage: summary items whose source lies inside a labelled ad span (rule in
  tests/support/corpus.py `summary_leaks`, written down in docs/summaries.md);
  always measured against the labelled (truth) spans, whatever spans the summary
  was made with;
- topic recall: the share of the show notes' subject terms that the summary's
  topics and chapter titles name (rule: `show_notes_terms` below, docs/summaries.md);
  also printed without the show notes as context, to show what the notes add;
- extractive_3h_s: wall time of the extractive summarizer on a 3-hour transcript
  (the corpus's real 2 h 45 min episode extended with its own speech, shifted in
  time, to 3 hours), median of 3, libraries already imported.

Run: CORPUS_DIR=../shared/corpus/transcripts python bench/quality_summaries.py [EPISODE_DIR ...]
"""

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

from summaries.llm import transcript_summarize  # noqa: E402
from summaries.llm.language import fold, language_get, zipf  # noqa: E402
from summaries.llm.prepare import EpisodeContext  # noqa: E402
from tests.support.corpus import SHARED, CorpusEpisode, episode_load, summary_leaks  # noqa: E402

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
    # A term inside a longer chosen term is the same subject ("guth" in "amy guth").
    chosen: list[str] = []

    def same(a: str, b: str) -> bool:  # "guth" in "amy guth"; "simulation" and "simulations"
        a, b = a.removesuffix("s"), b.removesuffix("s")
        return f" {a} " in f" {b} " or f" {b} " in f" {a} "

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


def _three_hours(episode: CorpusEpisode) -> list[dict]:
    """The episode's own segments, repeated (shifted in time) until 3 hours long."""
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


def extractive_wall_seconds(episode: CorpusEpisode) -> float:
    segments = _three_hours(episode)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        transcript_summarize(segments, provider="extractive", prompt_version="v3", ads=episode.ads)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def summaries_quality(
    episode_dirs: list[Path], ads_by_episode: dict[str, list] | None = None, *, provider: str = "extractive"
) -> dict:
    """Per-episode and overall leakage and topic recall; `ads_by_episode` maps an episode
    dir name to the spans the summary is made with (default: its truth.txt spans)."""
    rows = []
    long_episode = None
    for path in episode_dirs:
        episode = episode_load(Path(path))
        ads = (ads_by_episode or {}).get(episode.name, episode.ads)
        context = EpisodeContext(title=episode.title, podcast=episode.podcast, description=episode.description)
        started = time.perf_counter()
        result = transcript_summarize(episode.segments, provider=provider, prompt_version="v3", ads=ads, context=context)
        seconds = time.perf_counter() - started
        bare = transcript_summarize(episode.segments, provider=provider, prompt_version="v3", ads=ads)
        terms = show_notes_terms(episode, episode.ads)
        rows.append(
            {
                "episode": episode.name,
                "minutes": round(max(s["end"] for s in episode.segments) / 60),
                "leaks": summary_leaks(result.content, episode.segments, episode.ads),
                "terms": terms,
                "recall": topic_recall(result.content, terms),
                "recall_no_notes": topic_recall(bare.content, terms),
                "seconds": seconds,
            }
        )
        if long_episode is None or max(s["end"] for s in episode.segments) > max(s["end"] for s in long_episode.segments):
            long_episode = episode
    scored = [r for r in rows if r["recall"] is not None]
    return {
        "episodes": rows,
        "leakage": sum(len(r["leaks"]) for r in rows),
        "topic_recall": statistics.mean(r["recall"] for r in scored) if scored else 0.0,
        "topic_recall_no_notes": statistics.mean(r["recall_no_notes"] for r in scored) if scored else 0.0,
        "extractive_3h_s": extractive_wall_seconds(long_episode) if long_episode else 0.0,
    }


NOTES_BOOST_GRID = (1.0, 1.8, 3.0, 5.0)


def notes_boost_cross_validated(episode_dirs: list[Path]) -> dict:
    """The one fitted number, extractive.NOTES_BOOST, chosen leave-one-podcast-out: for each
    podcast, the grid value with the best mean topic recall on the other podcasts' episodes,
    then scored on the held-out podcast's episodes. Returns the held-out recall per episode."""
    from summaries.llm import extractive

    episodes = [episode_load(Path(p)) for p in episode_dirs]
    recall: dict[tuple[str, float], float | None] = {}
    saved = extractive.NOTES_BOOST
    try:
        for boost in NOTES_BOOST_GRID:
            extractive.NOTES_BOOST = boost
            for e in episodes:
                context = EpisodeContext(title=e.title, podcast=e.podcast, description=e.description)
                result = transcript_summarize(e.segments, provider="extractive", prompt_version="v3", ads=e.ads, context=context)
                recall[(e.name, boost)] = topic_recall(result.content, show_notes_terms(e, e.ads))
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


def main(argv: list[str]) -> int:
    dirs = [Path(a) for a in argv] or sorted(p for p in SHARED.iterdir() if p.is_dir() and p.name.startswith("ep-"))
    report = summaries_quality(dirs)
    cv = notes_boost_cross_validated(dirs)
    print(f"{'episode':45} {'min':>4} {'leaks':>5} {'recall':>6} {'no notes':>8} {'wall s':>6}  reference terms")
    for r in report["episodes"]:
        recall = "-" if r["recall"] is None else f"{r['recall']:.2f}"
        bare = "-" if r["recall_no_notes"] is None else f"{r['recall_no_notes']:.2f}"
        print(
            f"{r['episode']:45} {r['minutes']:>4} {len(r['leaks']):>5} {recall:>6} {bare:>8} {r['seconds']:>6.2f}  {', '.join(r['terms'])}"
        )
        for leak in r["leaks"]:
            print(f"    leak: {leak}")
    print(f"topic recall without the show notes as context: {report['topic_recall_no_notes']:.2f}")
    print(f"topic recall at the shipped NOTES_BOOST (in-sample): {report['topic_recall']:.2f}")
    print("leave-one-podcast-out NOTES_BOOST (chosen on the other podcasts) and held-out recall:")
    for name, (boost, recall) in cv["per_episode"].items():
        print(f"    {name:45} boost={boost:<4} recall={'-' if recall is None else f'{recall:.2f}'}")
    print(
        f"RESULT quality_summaries leakage={report['leakage']} topic_recall={cv['topic_recall']:.2f} "
        f"extractive_3h_s={report['extractive_3h_s']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
