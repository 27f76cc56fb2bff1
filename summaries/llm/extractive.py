"""The offline summarizer: ranks real transcript sentences with scikit-learn's TF-IDF.

No key, no network, deterministic (no randomness; ties break by position).
Everything it outputs comes from the transcript: key points and quotes are
verbatim sentences with the start time of the segment they begin in; chapters
start where adjacent stretches of talk share the fewest terms (a TextTiling-
style topic shift); titles and topics are the stretch's and the episode's
highest-weighted terms.
"""

import bisect
import re
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import stopwordsiso
from sklearn.feature_extraction.text import TfidfVectorizer

from summaries.llm.base import EXTRACTIVE_MODEL, ProviderOutput, ProviderRejected, TranscriptTooShort, Usage
from summaries.prompts import PromptTemplate
from summaries.schema import SENTENCE_BREAK, SummaryInvalid, summary_validate

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z'\-]{2,}\b"
_TOKEN_ANY_SCRIPT = r"(?u)\b[^\W\d_][\w'\-]{2,}\b"
# The transcript's language (primary subtag) while `summarize` runs; "" or "en": English.
_language: ContextVar[str] = ContextVar("extractive_language", default="")
MAX_UNIT_WORDS = 60
BLOCK_SECONDS = 60.0
# Filler that TF-IDF alone ranks too high in conversation.
_EXTRA_STOP = {"yeah", "okay", "um", "uh", "like", "just", "really", "know", "think", "going", "gonna", "right", "thing", "things", "lot", "kind", "sort", "actually", "mean", "don't", "it's", "that's", "i'm", "you're", "we're", "they're", "there's", "can't", "didn't", "doesn't", "let's"}


@dataclass
class _Unit:
    text: str
    start: float
    words: int


def _units(segments: list[dict]) -> list[_Unit]:
    """Sentences of the joined transcript, each with the start of the segment it begins in."""
    starts, parts, offset = [], [], 0
    for segment in segments:
        starts.append(offset)
        parts.append(segment["text"])
        offset += len(segment["text"]) + 1
    text = " ".join(parts)
    units: list[_Unit] = []
    position = 0
    boundaries = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    for end in boundaries:
        raw = text[position:end]
        lead = len(raw) - len(raw.lstrip())
        sentence = raw.strip()
        begin = position + lead
        position = end
        if not sentence:
            continue
        words = sentence.split()
        if len(words) <= MAX_UNIT_WORDS:
            pieces = [(begin, sentence)]
        else:  # unpunctuated speech: cut into runs of words, still verbatim
            pieces, cursor = [], begin
            for i in range(0, len(words), 40):
                piece = " ".join(words[i : i + 40])
                cursor = text.index(piece, cursor)
                pieces.append((cursor, piece))
                cursor += len(piece)
        for char, piece in pieces:
            index = bisect.bisect_right(starts, char) - 1
            units.append(_Unit(text=piece, start=float(segments[index]["start"]), words=len(piece.split())))
    return units


def _vectorizer(**kwargs) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    language = _language.get()
    if language and language != "en":
        # Not English: that language's stop words (none known: rely on max_df) and letters of any script.
        stop = sorted(stopwordsiso.stopwords(language)) if stopwordsiso.has_lang(language) else None
        return TfidfVectorizer(stop_words=stop, token_pattern=_TOKEN_ANY_SCRIPT, sublinear_tf=True, **kwargs)
    return TfidfVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | _EXTRA_STOP), token_pattern=_TOKEN, sublinear_tf=True, **kwargs
    )


def _select(candidates: list[int], scores: np.ndarray, matrix, count: int, exclude: set[int], diversity: float = 0.6) -> list[int]:
    """Maximal marginal relevance: high score, low similarity to what is already chosen."""
    chosen: list[int] = []
    pool = [i for i in candidates if i not in exclude]
    while pool and len(chosen) < count:
        reference = chosen + sorted(exclude)
        if reference:
            similarity = (matrix[pool] @ matrix[reference].T).max(axis=1).toarray().ravel()
        else:
            similarity = np.zeros(len(pool))
        value = scores[pool] - diversity * similarity
        best = int(np.argmax(value))  # argmax returns the first maximum: earliest wins a tie
        if reference and similarity[best] > 0.8:
            pool.pop(best)  # a near-duplicate: not distinct
            continue
        chosen.append(pool.pop(best))
    return chosen


def _top_terms(weights: np.ndarray, names: np.ndarray, count: int) -> list[str]:
    picked: list[str] = []
    for index in np.argsort(-weights, kind="stable"):
        if weights[index] <= 0 or len(picked) >= count:
            break
        term = str(names[index])
        if any(term in p or p in term for p in picked):
            continue
        picked.append(term)
    return picked


def _topics(units: list[_Unit]) -> list[str]:
    """Key terms of the episode: weighted over one-minute stretches, ignoring terms said in most of them."""
    blocks: list[list[str]] = []
    for unit in units:
        if not blocks or len(blocks[-1]) >= 8:
            blocks.append([])
        blocks[-1].append(unit.text)
    texts = [" ".join(b) for b in blocks]
    vectorizer = _vectorizer(ngram_range=(1, 2), max_df=0.5 if len(texts) >= 6 else 1.0)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:
        return []
    return _top_terms(np.asarray(matrix.sum(axis=0)).ravel(), vectorizer.get_feature_names_out(), 8)


def _chapters(units: list[_Unit], duration: float) -> tuple[list[dict], list[list[str]]]:
    blocks: list[list[_Unit]] = []
    for unit in units:
        if not blocks or unit.start - blocks[-1][0].start >= BLOCK_SECONDS:
            blocks.append([])
        blocks[-1].append(unit)
    texts = [" ".join(u.text for u in block) for block in blocks]
    wanted = int(min(max(round(duration / 600), 1), 12, len(blocks)))
    boundaries: list[int] = []
    if wanted > 1:
        dense = _vectorizer().fit_transform(texts).toarray()
        running = np.vstack([np.zeros((1, dense.shape[1])), np.cumsum(dense, axis=0)])
        gaps = []
        for i in range(1, len(blocks)):
            # Compare ~3 minutes either side of the gap: a dip marks a change of subject.
            left = running[i] - running[max(0, i - 3)]
            right = running[min(i + 3, len(blocks))] - running[i]
            norm = np.linalg.norm(left) * np.linalg.norm(right)
            gaps.append((float(left @ right / norm) if norm else 0.0, i))
        min_gap = duration / (wanted * 2)
        for _, i in sorted(gaps):
            start = blocks[i][0].start
            if start < min_gap or duration - start < min_gap:
                continue
            if all(abs(start - blocks[j][0].start) >= min_gap for j in boundaries):
                boundaries.append(i)
            if len(boundaries) == wanted - 1:
                break
        boundaries.sort()
    spans = [0, *boundaries, len(blocks)]
    chapter_texts = [" ".join(texts[a:b]) for a, b in zip(spans, spans[1:])]
    vectorizer = _vectorizer(ngram_range=(1, 2), max_df=0.8 if len(chapter_texts) > 2 else 1.0)
    try:
        matrix = vectorizer.fit_transform(chapter_texts)
        names = vectorizer.get_feature_names_out()
    except ValueError:  # nothing but stop words
        matrix, names = None, np.array([])
    chapters, chapter_terms = [], []
    for n, (a, _) in enumerate(zip(spans, spans[1:])):
        terms = _top_terms(matrix[n].toarray().ravel(), names, 3) if matrix is not None else []
        title = ", ".join(terms).capitalize() if terms else f"Part {n + 1}"
        chapters.append({"title": title[:150], "start": 0.0 if n == 0 else blocks[a][0].start})
        chapter_terms.append(terms)
    return chapters, chapter_terms


def summarize(segments: list[dict], *, prompt: PromptTemplate, budget=None, language: str = "") -> ProviderOutput:
    token = _language.set((language or "").strip().lower().replace("_", "-").split("-")[0])
    try:
        return _summarize(segments)
    finally:
        _language.reset(token)


def _summarize(segments: list[dict]) -> ProviderOutput:
    # The prompt version does not change extractive output; it is recorded for the source hash.
    units = _units(segments)
    usable = [i for i, u in enumerate(units) if 6 <= u.words and len(u.text) <= 400]
    if len(usable) < 4:
        raise TranscriptTooShort("the transcript is too short to summarize")
    duration = max(s["end"] for s in segments)
    vectorizer = _vectorizer(max_df=0.9 if len(units) > 20 else 1.0)
    try:
        matrix = vectorizer.fit_transform([u.text for u in units])
    except ValueError:
        raise TranscriptTooShort("the transcript has no content words") from None
    centroid = np.asarray(matrix.mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid)
    scores = matrix @ (centroid / norm if norm else centroid)
    lengths = np.array([u.words for u in units])
    scores = scores * np.where(lengths < 10, 0.6, 1.0) * np.where(lengths > 45, 0.7, 1.0)

    ranked = sorted(usable, key=lambda i: (-scores[i], i))
    tldr_ids = [ranked[0]]
    if units[ranked[0]].words < 15 and len(ranked) > 1:
        tldr_ids = sorted(_select(ranked, scores, matrix, 2, set()))
    tldr = " ".join(units[i].text for i in sorted(tldr_ids))
    if len(SENTENCE_BREAK.findall(tldr)) >= 3 or len(tldr) > 800:
        tldr_ids, tldr = [ranked[0]], units[ranked[0]].text

    hours = duration / 3600
    point_count = int(min(max(3 + round(hours * 2), 3), 7))
    point_ids = sorted(_select(ranked, scores, matrix, point_count, set(tldr_ids)))
    if len(point_ids) < 3:
        point_ids = sorted(_select(ranked, scores, matrix, 3, set(), diversity=0.0))
    quotable = [i for i in ranked if 8 <= units[i].words <= 40]
    quote_count = int(min(max(2 + round(hours * 2), 2), 5))
    quote_ids = sorted(_select(quotable, scores, matrix, quote_count, set(tldr_ids) | set(point_ids)))

    chapters, chapter_terms = _chapters(units, duration)
    topics: list[str] = []
    if len(chapters) >= 3:  # what sets each stretch apart from the rest: the episode's subjects
        for rank in range(2):
            for terms in chapter_terms:
                if len(terms) > rank and not any(terms[rank] in t or t in terms[rank] for t in topics):
                    topics.append(terms[rank])
        topics = topics[:8]
    if len(topics) < 3:
        topics = _topics(units)
    if not topics:
        topics = _top_terms(np.asarray(matrix.sum(axis=0)).ravel(), vectorizer.get_feature_names_out(), 8)

    try:
        content = summary_validate(
            {
                "tldr": tldr,
                "key_points": [units[i].text for i in point_ids],
                "quotes": [{"text": units[i].text, "start": units[i].start} for i in quote_ids],
                "chapters": chapters,
                "topics": topics,
            }
        )
    except SummaryInvalid as exc:  # e.g. fewer than three distinct sentences to choose from
        raise ProviderRejected(f"no valid extractive summary: {exc}") from None
    return ProviderOutput(content=content, provider="extractive", model=EXTRACTIVE_MODEL, usage=Usage())
