"""The classifier: TF-IDF of a unit and of its neighbourhood on each side, dense cues, logistic regression.

The fitted model is stored as JSON (vocabulary, idf, scaler, coefficients):
small, diff-able and safe to load, unlike a pickle, and independent of the
scikit-learn version that fitted it.
"""

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MaxAbsScaler, normalize

from podcasts.sponsors.features import (
    CONTEXT_SECONDS,
    DENSE_NAMES,
    Unit,
    context_matrices,
    dense_features,
    transcript_units,
    window_scale,
)

ARTIFACT_PATH = Path(__file__).resolve().parent / "model.json"
FORMAT = 1
SEED = 0

# Text features: word uni- and bigrams, seen in at least MIN_DF units of training.
NGRAMS = (1, 2)
MIN_DF = 3
MAX_FEATURES = 12000
C = 0.25


@dataclass
class Model:
    vocabulary: list[str]
    idf: np.ndarray
    scaler_mean: np.ndarray
    scaler_scale: np.ndarray
    coef: np.ndarray
    intercept: float
    trained_on: list[str] = field(default_factory=list)

    @property
    def counter(self) -> CountVectorizer:
        return CountVectorizer(ngram_range=NGRAMS, vocabulary={t: i for i, t in enumerate(self.vocabulary)})

    def classifier(self) -> LogisticRegression:
        clf = LogisticRegression()
        clf.classes_ = np.array([0, 1])
        clf.coef_ = self.coef.reshape(1, -1)
        clf.intercept_ = np.array([self.intercept])
        return clf

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "features": {"ngrams": list(NGRAMS), "dense": DENSE_NAMES},
            "trained_on": self.trained_on,
            "intercept": round(float(self.intercept), 6),
            "scaler_mean": [round(float(v), 6) for v in self.scaler_mean],
            "scaler_scale": [round(float(v), 6) for v in self.scaler_scale],
            "vocabulary": self.vocabulary,
            "idf": [round(float(v), 5) for v in self.idf],
            "coef": [round(float(v), 5) for v in self.coef],
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Model":
        data = json.loads(text)
        if data.get("format") != FORMAT or data["features"]["dense"] != DENSE_NAMES:
            raise ValueError("Sponsor model artifact does not match this code; run manage.py train_sponsor_model.")
        return cls(
            vocabulary=data["vocabulary"],
            idf=np.array(data["idf"]),
            scaler_mean=np.array(data["scaler_mean"]),
            scaler_scale=np.array(data["scaler_scale"]),
            coef=np.array(data["coef"]),
            intercept=float(data["intercept"]),
            trained_on=data.get("trained_on", []),
        )


def _tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    # The same weighting as TfidfVectorizer(sublinear_tf=True), from stored idf.
    tf = counts.astype(float).tocsr()
    tf.data = 1.0 + np.log(tf.data)
    return normalize(tf @ sparse.diags(idf), norm="l2")


@dataclass
class EpisodeInput:
    units: list[Unit]
    texts: list[str]
    before: sparse.csr_matrix
    after: sparse.csr_matrix
    dense: np.ndarray
    scale: float = 1.0  # window_scale: how much of the full time windows this episode uses


def episode_input(segments: list[dict], *, title: str = "", description: str = "") -> EpisodeInput:
    units = transcript_units(segments)
    scale = window_scale(units)
    before, after = context_matrices(units, CONTEXT_SECONDS * scale)
    return EpisodeInput(
        units=units,
        texts=[u.text for u in units],
        before=before,
        after=after,
        dense=dense_features(units, before=before, after=after, description=description, title=title, scale=scale),
        scale=scale,
    )


def _matrix(model_counter: CountVectorizer, idf, mean, scale, data: EpisodeInput) -> sparse.csr_matrix:
    counts = model_counter.transform(data.texts)
    own = _tfidf(counts, idf)
    before = _tfidf(data.before @ counts, idf)
    after = _tfidf(data.after @ counts, idf)
    dense = (data.dense - mean) / scale
    return sparse.hstack([own, before, after, sparse.csr_matrix(dense)]).tocsr()


def unit_labels(units: list[Unit], truth: list[tuple[float, float]]) -> np.ndarray:
    """1 where at least half of the unit lies inside a labelled span."""
    labels = np.zeros(len(units), dtype=int)
    for i, unit in enumerate(units):
        length = max(unit.end - unit.start, 1e-3)
        inside = sum(max(0.0, min(unit.end, e) - max(unit.start, s)) for s, e in truth)
        labels[i] = 1 if inside / length >= 0.5 else 0
    return labels


def fit(inputs: list[EpisodeInput], labels: list[np.ndarray], *, names: list[str] | None = None) -> Model:
    """Fit vocabulary, idf, scaler and classifier on the given episodes; deterministic."""
    texts = [t for data in inputs for t in data.texts]
    counter = CountVectorizer(ngram_range=NGRAMS, min_df=MIN_DF, max_features=MAX_FEATURES)
    counts = counter.fit_transform(texts)
    vocabulary = [t for t, _ in sorted(counter.vocabulary_.items(), key=lambda kv: kv[1])]
    idf = TfidfTransformer(sublinear_tf=True).fit(counts).idf_
    dense = np.vstack([data.dense for data in inputs])
    # Scaled to [-1, 1] and not centred: a rare 0/1 cue stays 0/1 instead of
    # becoming a huge z-score that swamps everything else.
    scaler = MaxAbsScaler().fit(dense)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    fixed = CountVectorizer(ngram_range=NGRAMS, vocabulary={t: i for i, t in enumerate(vocabulary)})
    mean = np.zeros(dense.shape[1])
    X = sparse.vstack([_matrix(fixed, idf, mean, scale, data) for data in inputs]).tocsr()
    y = np.concatenate(labels)
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=SEED)
    clf.fit(X, y)
    return Model(
        vocabulary=vocabulary,
        idf=idf,
        scaler_mean=mean,
        scaler_scale=scale,
        coef=clf.coef_.ravel(),
        intercept=float(clf.intercept_[0]),
        trained_on=sorted(names or []),
    )


def unit_probabilities(model: Model, data: EpisodeInput) -> np.ndarray:
    if not data.units:
        return np.zeros(0)
    X = _matrix(model.counter, model.idf, model.scaler_mean, model.scaler_scale, data)
    return model.classifier().predict_proba(X)[:, 1]


@lru_cache(maxsize=4)
def load_model(path: str = str(ARTIFACT_PATH)) -> Model:
    """The committed artifact, parsed once per process."""
    return Model.from_json(Path(path).read_text(encoding="utf-8"))
