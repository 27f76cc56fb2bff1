"""Fitting the committed artifact and scoring it leave-one-podcast-out."""

from dataclasses import dataclass
from pathlib import Path

from podcasts.sponsors import PARAMS, DetectedAdSpan, spans_from_input
from podcasts.sponsors.corpus import CorpusEpisode
from podcasts.sponsors.metric import SpanScore, score_spans
from podcasts.sponsors.model import EpisodeInput, Model, episode_input, fit, unit_labels
from podcasts.sponsors.spans import SpanParams


def inputs_of(episodes: list[CorpusEpisode]) -> dict[str, EpisodeInput]:
    return {e.name: episode_input(e.segments, title=e.title, description=e.description) for e in episodes}


def fit_corpus(episodes: list[CorpusEpisode], inputs: dict[str, EpisodeInput] | None = None) -> Model:
    inputs = inputs or inputs_of(episodes)
    data = [inputs[e.name] for e in episodes]
    labels = [unit_labels(d.units, e.truth) for d, e in zip(data, episodes, strict=True)]
    return fit(data, labels, names=[e.name for e in episodes])


def train(episodes: list[CorpusEpisode], output: Path) -> Model:
    """Fit on every episode and write the artifact; the same episodes give the same bytes."""
    model = fit_corpus(episodes)
    output.write_text(model.to_json(), encoding="utf-8")
    return model


@dataclass(frozen=True)
class FoldResult:
    episode: CorpusEpisode
    predicted: list[DetectedAdSpan]
    score: SpanScore


def leave_one_podcast_out(
    episodes: list[CorpusEpisode], *, params: SpanParams = PARAMS, inputs: dict[str, EpisodeInput] | None = None
) -> list[FoldResult]:
    """For each podcast, fit on the others and detect on its episodes."""
    inputs = inputs or inputs_of(episodes)
    results = []
    for podcast in sorted({e.podcast for e in episodes}):
        train_set = [e for e in episodes if e.podcast != podcast]
        model = fit_corpus(train_set, inputs)
        for episode in (e for e in episodes if e.podcast == podcast):
            predicted = spans_from_input(inputs[episode.name], model, params)
            score = score_spans([(p.start, p.end) for p in predicted], episode.truth)
            results.append(FoldResult(episode=episode, predicted=predicted, score=score))
    return sorted(results, key=lambda r: r.episode.name)


def total(results: list[FoldResult]) -> SpanScore:
    score = SpanScore(0, 0, 0)
    for result in results:
        score = score + result.score
    return score
