"""The offline summarizer: subjects, chapters and real sentences from the transcript, with scikit-learn.

No key, no network, deterministic (no randomness; ties break by position). It
reads the prepared transcript (ads and whisper filler already removed, see
summaries.llm.prepare), so nothing it says can come from a sponsor read.

- Subjects are candidate noun-phrase-like n-grams (no stop word or filler at
  either end, see summaries.llm.language) weighted by how often the episode
  says them, how rare their words are in general use (wordfreq), whether they
  are names (capitalised mid-sentence), and whether the title or show notes
  name them too.
- Chapters start where adjacent minutes of talk share the fewest terms
  (TextTiling-style), one per ~10 minutes; a title is the chapter's most
  distinctive subject or two ("Varroa mites and winter").
- Key points and quotes are complete sentences (capitalised, punctuated, not
  housekeeping), one per subject; quotes start at their first word.
- The TL;DR names the main subjects, and says when the title and show notes
  were used to pick them.
"""

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from summaries.llm.base import EXTRACTIVE_MODEL, ProviderOutput, ProviderRejected, TranscriptTooShort, Usage
from summaries.llm.language import Language, fold, language_get, zipf
from summaries.llm.prepare import EpisodeContext, TimedText
from summaries.prompts import PromptTemplate
from summaries.schema import SENTENCE_BREAK, SummaryInvalid, summary_validate

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['\-](?=[^\W\d_]))*")
BLOCK_SECONDS = 60.0
CHAPTER_SECONDS = 600.0
# A key point or quote: a real sentence of speech, not a fragment and not a monologue.
POINT_WORDS = (8, 40)
QUOTE_WORDS = (7, 30)
# Stop words allowed inside a phrase ("history of the bicycle" is one subject).
_JOINERS = {"of", "the"}
MAX_PHRASE_WORDS = 4
# How much more a phrase weighs when the episode title / the show notes name it too.
TITLE_BOOST = 2.5
NOTES_BOOST = 3.0  # chosen leave-one-podcast-out by bench/quality.py
DISTINCT_POOL = 400
# Words as the stop lists spell them (with apostrophes: "don't" stays one token).
TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w']*\b"


@dataclass
class _Sentence:
    text: str
    start: float
    words: int
    complete: bool
    chapter: int = 0
    phrases: list[str] = field(default_factory=list)


def _sentence_spans(text: str, lang: Language) -> list[tuple[int, int]]:
    """(begin, end) of each sentence: a stop, ! or ? before a capital, not after an abbreviation."""
    spans, position = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        following = text[end : end + 1]
        previous = text[position : match.start() + 1].split()[-1:] or [""]
        word = previous[0].rstrip(".!?\"')]").lower()
        if following and not (following.isupper() or following.isdigit() or following in "\"'“"):
            continue
        if text[match.start()] == "." and (word in lang.abbreviations or (len(word) == 1 and word.isalpha())):
            continue
        spans.append((position, end))
        position = end
    spans.append((position, len(text)))
    return spans


_INNER_BREAK = re.compile(r"[.!?]\s+[a-z]|\.\.|…|-\s")


def _complete(sentence: str, words: list[str], lang: Language) -> bool:
    """A statement that stands on its own: capitalised, ends with a stop, opens with no
    conjunction or pronoun that needs the previous sentence, has a verb, is no list of
    names, no trailing-off, and no housekeeping."""
    opener = words[0].strip(",.!?").lower()
    lowercase = [w.strip(",.!?;:\"'”“").lower() for w in words[1:] if w[:1].islower()]
    return (
        sentence[0].isupper()
        and sentence.rstrip("\"'”")[-1:] in (".", "!")
        and opener not in lang.weak_openers
        and not _INNER_BREAK.search(sentence)
        and sentence.count(",") <= max(len(words) // 6, 1)
        and len(lowercase) >= len(words) // 2
        and any(lang.verb_like(w) for w in lowercase)
        and not lang.housekeeping.search(sentence)
    )


def _sentences(timed: TimedText, lang: Language) -> list[_Sentence]:
    """Sentences of the joined transcript, each starting at its first word's time."""
    text = timed.text
    result: list[_Sentence] = []
    for position, end in _sentence_spans(text, lang):
        raw = text[position:end]
        begin = position + len(raw) - len(raw.lstrip())
        sentence = raw.strip()
        if not sentence:
            continue
        words = sentence.split()
        complete = _complete(sentence, words, lang)
        result.append(_Sentence(text=sentence, start=timed.time_at(begin), words=len(words), complete=complete))
    return result


class _Phrases:
    """Candidate subject phrases: runs of words (never across punctuation) with a content word
    at the start and a noun-like content word at the end, remembered with the case they are said in."""

    def __init__(self, lang: Language):
        self.lang = lang
        self.surface: dict[str, Counter] = defaultdict(Counter)
        self.capitalised: Counter = Counter()
        self.seen: Counter = Counter()

    def _content(self, word: str) -> bool:
        return word not in self.lang.stop_words and len(word) >= 3 and "'" not in word

    def __call__(self, sentence: str) -> list[str]:
        tokens = [(m.group(), m.start()) for m in _WORD.finditer(sentence)]
        lowered = [t.lower() for t, _ in tokens]
        # joined[k]: token k and k+1 are separated by spaces only (no comma, dash, stop...).
        joined = [not sentence[a + len(t) : tokens[k + 1][1]].strip() for k, (t, a) in enumerate(tokens[:-1])]
        out: list[str] = []
        for i, word in enumerate(lowered):
            if not self._content(word):
                continue
            for j in range(i, min(i + MAX_PHRASE_WORDS, len(lowered))):
                if j > i and not joined[j - 1]:
                    break
                last = lowered[j]
                if j > i and not self._content(last) and not (last == "of" or (last == "the" and lowered[j - 1] == "of")):
                    break
                if not self._content(last) or not self.lang.noun_like(last if not tokens[j][0][:1].isupper() else tokens[j][0]):
                    continue
                key = " ".join(lowered[i : j + 1])
                surface = sentence[tokens[i][1] : tokens[j][1] + len(tokens[j][0])]
                self.surface[key][surface] += 1
                self.seen[key] += 1
                if i > 0 and tokens[i][0][:1].isupper():
                    self.capitalised[key] += 1
                out.append(key)
        return out

    def name_share(self, key: str) -> float:
        return self.capitalised[key] / self.seen[key] if self.seen[key] else 0.0

    def display(self, key: str) -> str:
        surface = self.surface[key].most_common(1)[0][0] if self.surface[key] else key
        return surface if self.name_share(key) >= 0.5 else surface.lower()


def _show_terms(context: EpisodeContext, sentences: list[_Sentence], lang: Language) -> set[str]:
    """The show's own name (and its initials) and its hosts: said every episode, about none."""
    terms: set[str] = set()
    for name in (context.podcast, context.hosts):
        words = fold(name.replace("-", " ")).split()
        if words:
            terms.add(" ".join(words))
            terms.update(w for w in words if len(w) > 3)
            terms.add("".join(words))  # as said in a URL ("itsathing dot com")
            if len(words) >= 3:
                terms.add("".join(w[0] for w in words))
    for sentence in sentences:
        if sentence.start > 120:
            break
        for match in lang.introduction.finditer(sentence.text):
            name = fold(match.group(1) or match.group(2))
            terms.add(name)
            terms.update(name.split())
    return terms


def _rarity(key: str, lang: Language) -> float:
    """How much a phrase's words say, by general-use rarity (0: too common to name a subject)."""
    content = [w for w in key.split() if w not in lang.stop_words]
    rarest = min(zipf(w, lang.code) for w in content)
    if len(content) == 1 and rarest > lang.common_zipf:
        return 0.0
    if len(content) > 1 and rarest > lang.common_zipf + 0.6:
        return 0.0
    return max(7.0 - rarest, 0.5) * (1.25 if len(content) > 1 else 1.0)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _overlaps(a: str, b: str) -> bool:
    ta, tb = {_singular(w) for w in a.split()}, {_singular(w) for w in b.split()}
    return bool(ta & tb - _JOINERS)


@dataclass
class _Analysis:
    sentences: list[_Sentence]
    phrases: _Phrases
    names: np.ndarray  # phrase keys
    counts: np.ndarray  # chapters x phrases (dense, small: one row per chapter)
    weight: np.ndarray  # episode-wide subject weight per phrase
    context_used: bool


def _context_terms(context: EpisodeContext, lang: Language) -> tuple[str, str]:
    """The title and the show notes, folded; show-notes lines about sponsors, links and
    housekeeping are left out, so a sponsor the notes list never counts as a subject."""
    lines = [
        line
        for line in re.split(r"\n|(?<=[.!?])\s+", context.show_notes)
        if not lang.sponsor_line.search(line) and not lang.housekeeping.search(line) and "http" not in line
    ]
    return fold(context.title), fold(" ".join(lines))


def _analyse(sentences: list[_Sentence], boundaries: list[int], lang: Language, context: EpisodeContext) -> _Analysis:
    phrases = _Phrases(lang)
    vectorizer = CountVectorizer(analyzer=phrases, lowercase=False)
    per_sentence = vectorizer.fit_transform([s.text for s in sentences])
    names = vectorizer.get_feature_names_out()
    chapter_of = np.zeros(len(sentences), dtype=int)
    for n, b in enumerate(boundaries):
        chapter_of[b:] = n
    chapters = len(boundaries)
    # chapters x sentences indicator, times sentences x phrases: counts per chapter.
    indicator = np.zeros((chapters, len(sentences)))
    indicator[chapter_of, np.arange(len(sentences))] = 1.0
    counts = np.asarray(per_sentence.T.dot(indicator.T).T)
    total = counts.sum(axis=0)
    title, notes = _context_terms(context, lang)
    show = _show_terms(context, sentences, lang)
    weight = np.zeros(len(names))
    context_used = False
    # A subject is said at least twice, except in a clip too short to repeat anything.
    min_count = 2 if sum(s.words for s in sentences) >= 300 else 1
    for k, key in enumerate(names):
        if total[k] < min_count:
            continue
        rarity = _rarity(key, lang)
        if not rarity:
            continue
        w = math.log1p(total[k]) * rarity * (1.0 + phrases.name_share(key))
        if key in show or any(part in show for part in key.split()):
            weight[k] = 0.0
            continue
        padded = f" {key} "
        if title and padded in f" {title} ":
            w *= TITLE_BOOST
            context_used = True
        elif notes and padded in f" {notes} ":
            w *= NOTES_BOOST
            context_used = True
        weight[k] = w
    # A phrase said mostly as part of a longer one gives way to it ("varroa" → "varroa mite").
    index = {key: k for k, key in enumerate(names)}
    for k, key in enumerate(names):
        parts = key.split()
        if len(parts) < 2 or not weight[k]:
            continue
        for sub in {parts[0], parts[-1], " ".join(parts[:-1]), " ".join(parts[1:])}:
            s = index.get(sub)
            if s is not None and total[k] >= 0.5 * total[s]:
                weight[s] *= 0.3
    for i, sentence in enumerate(sentences):
        sentence.chapter = int(chapter_of[i])
        if show and any(f" {t} " in f" {fold(sentence.text)} " for t in show if len(t) > 3 or t.isalpha()):
            sentence.complete = False  # an introduction or sign-off, not a point about the subject
        row = per_sentence.getrow(i)
        sentence.phrases = sorted((names[k] for k in row.indices if weight[k] > 0), key=lambda key: -weight[index[key]])
    return _Analysis(sentences, phrases, names, counts, weight, context_used)


def _pick_phrases(scores: np.ndarray, names: np.ndarray, count: int, *, avoid: list[str] = ()) -> list[str]:
    picked: list[str] = []
    for k in np.argsort(-scores, kind="stable"):
        if scores[k] <= 0 or len(picked) >= count:
            break
        key = str(names[k])
        if any(_overlaps(key, p) for p in [*picked, *avoid]):
            continue
        picked.append(key)
    return picked


def _boundaries(sentences: list[_Sentence], duration: float, lang: Language) -> list[int]:
    """Indexes of the sentences that start a chapter (the first is 0)."""
    blocks: list[list[int]] = []
    for i, sentence in enumerate(sentences):
        if not blocks or sentence.start - sentences[blocks[-1][0]].start >= BLOCK_SECONDS:
            blocks.append([])
        blocks[-1].append(i)
    wanted = int(min(max(round(duration / CHAPTER_SECONDS), 1), 20, len(blocks)))
    if wanted <= 1:
        return [0]
    texts = [" ".join(sentences[i].text for i in block) for block in blocks]
    try:
        matrix = TfidfVectorizer(
            stop_words=sorted(lang.stop_words), sublinear_tf=True, token_pattern=TOKEN_PATTERN
        ).fit_transform(texts)
    except ValueError:
        return [0]
    dense = matrix.toarray()
    running = np.vstack([np.zeros((1, dense.shape[1])), np.cumsum(dense, axis=0)])
    gaps = []
    for i in range(1, len(blocks)):
        # ~3 minutes either side of the gap: a dip in similarity marks a change of subject.
        left = running[i] - running[max(0, i - 3)]
        right = running[min(i + 3, len(blocks))] - running[i]
        gaps.append((float(cosine_similarity(left[None, :], right[None, :])[0, 0]), i))
    min_gap = max(duration / (wanted * 2), 180.0)
    chosen: list[int] = []
    for _, i in sorted(gaps):
        start = sentences[blocks[i][0]].start
        if start < min_gap or duration - start < min_gap:
            continue
        if all(abs(start - sentences[blocks[j][0]].start) >= min_gap for j in chosen):
            chosen.append(i)
        if len(chosen) == wanted - 1:
            break
    return [0, *sorted(blocks[i][0] for i in chosen)]


def _title(phrases: list[str], analysis: _Analysis, lang: Language) -> str:
    shown = [analysis.phrases.display(p) for p in phrases]
    if not shown:
        return ""
    first = shown[0]
    if len(shown) > 1 and len(first.split()) + len(shown[1].split()) + 1 <= 6:
        title = f"{first} {lang.conjunction} {shown[1]}"
    elif len(first.split()) >= 2:
        title = first
    else:
        return ""
    return title[0].upper() + title[1:]


def _chapters(analysis: _Analysis, boundaries: list[int], lang: Language) -> list[dict]:
    counts = analysis.counts
    chapters = len(boundaries)
    present = (counts > 0).sum(axis=0)
    # Distinctive here (said in few other chapters) and a subject of the episode at all.
    idf = np.log((1 + chapters) / (1 + present)) + 1.0
    result: list[dict] = []
    used: list[str] = []
    for n, first in enumerate(boundaries):
        scores = np.log1p(counts[n]) * idf * (analysis.weight > 0) * analysis.weight
        picks = _pick_phrases(scores, analysis.names, 2, avoid=used[-1:])
        if not picks:
            picks = _pick_phrases(scores, analysis.names, 2)
        title = _title(picks, analysis, lang) or (f"Part {n + 1}" if chapters > 1 else "The episode")
        used += picks[:1]
        result.append({"title": title[:150], "start": 0.0 if n == 0 else analysis.sentences[first].start})
    return result


def _candidates(analysis: _Analysis, words: tuple[int, int]) -> list[int]:
    low, high = words
    return [
        i
        for i, s in enumerate(analysis.sentences)
        if s.complete and low <= s.words <= high and s.phrases and not s.text.endswith("?")
    ]


def _sentence_scores(analysis: _Analysis, ids: list[int]) -> dict[int, float]:
    weight = {str(k): w for k, w in zip(analysis.names, analysis.weight, strict=True)}
    scores = {}
    for i in ids:
        s = analysis.sentences[i]
        content = sum(weight[p] for p in s.phrases[:4])
        scores[i] = content / math.sqrt(s.words)
    return scores


def _quote_scores(analysis: _Analysis, ids: list[int]) -> dict[int, float]:
    """Quotes say something: a subject, and a claim or a view (first person, a judgement)."""
    base = _sentence_scores(analysis, ids)
    opinion = analysis.phrases.lang.opinion
    return {i: v * (1.6 if opinion.search(analysis.sentences[i].text) else 1.0) for i, v in base.items()}


def _distinct(ranked: list[int], analysis: _Analysis, count: int, *, taken: list[int], topics: list[str]) -> list[int]:
    """Sentences on distinct subjects: each adds a subject no chosen one has (maximal
    marginal relevance with a hard cut), and is not a near-copy of one (TF-IDF cosine)."""
    chosen: list[int] = []
    subjects: list[str] = [analysis.sentences[i].phrases[0] for i in taken if analysis.sentences[i].phrases]
    ranked = ranked[:DISTINCT_POOL]  # the best candidates are enough; keeps 3-hour episodes fast
    ids = ranked + [i for i in taken if i not in ranked]
    if not ids:
        return []
    texts = [analysis.sentences[i].text for i in ids]
    try:
        matrix = TfidfVectorizer(stop_words=sorted(analysis.phrases.lang.stop_words), token_pattern=TOKEN_PATTERN).fit_transform(
            texts
        )
    except ValueError:  # nothing but stop words
        return []
    similarity = cosine_similarity(matrix)
    row = {i: n for n, i in enumerate(ids)}
    for i in ranked:
        if len(chosen) >= count:
            break
        subject = analysis.sentences[i].phrases[0]
        if any(_overlaps(subject, s) for s in subjects):
            continue
        if any(similarity[row[i], row[j]] > 0.3 for j in chosen + taken):
            continue
        chosen.append(i)
        subjects.append(subject)
    return chosen


def _line_phrases(text: str, analysis: _Analysis) -> list[int]:
    index = {str(k): n for n, k in enumerate(analysis.names)}
    return [index[key] for key in set(_Phrases(analysis.phrases.lang)(text)) if key in index]


def _join(items: list[str], lang: Language) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {lang.conjunction} {items[-1]}"


def _tldr(analysis: _Analysis, topics: list[str], lead: str, context: EpisodeContext, lang: Language) -> str:
    subjects = _join([analysis.phrases.display(t) for t in topics[:3]], lang)
    title = context.title.strip().strip(".!?")
    if title and SENTENCE_BREAK.search(title + " "):
        title = ""
    if analysis.context_used and context.show_notes:
        source = (
            "going by the transcript, the title and the show notes" if title else "going by the transcript and the show notes"
        )
    elif analysis.context_used:
        source = "going by the transcript and the title"
    else:
        source = "going by the transcript"
    named = f"“{title}”" if title else "This episode"
    if context.podcast and title:
        named = f"This episode of {context.podcast.strip().strip('.!?')}, “{title}”,"
    first = f"{named} is about {subjects} ({source})."
    tldr = f"{first} {lead}".strip() if lead else first
    if len(SENTENCE_BREAK.findall(tldr)) >= 3 or len(tldr) > 800:
        tldr = first if len(first) <= 800 else f"This episode is about {subjects}."
    return tldr


def summarize(
    segments: list[dict], *, prompt: PromptTemplate, budget=None, context: EpisodeContext | None = None
) -> ProviderOutput:
    # The prompt version does not change extractive output; it is recorded for the source hash.
    context = context if context is not None else EpisodeContext()
    lang = language_get(context.language)
    timed = TimedText(segments)
    sentences = _sentences(timed, lang)
    if sum(s.words for s in sentences) < 30:
        raise TranscriptTooShort("the transcript is too short to summarize")
    duration = max(s["end"] for s in segments)
    boundaries = _boundaries(sentences, duration, lang)
    analysis = _analyse(sentences, boundaries, lang, context)
    if not analysis.weight.any():
        raise TranscriptTooShort("the transcript names no subject twice")

    chapters_present = (analysis.counts > 0).sum(axis=0)
    spread = np.minimum(chapters_present, 3) / 3 if len(boundaries) > 1 else np.ones(len(analysis.names))
    topic_keys = _pick_phrases(analysis.weight * (0.5 + spread), analysis.names, 8)
    topics = [analysis.phrases.display(k) for k in topic_keys]

    hours = duration / 3600
    point_ids_pool = _candidates(analysis, POINT_WORDS)
    scores = _sentence_scores(analysis, point_ids_pool)
    # One point per chapter first (subjects change between chapters), best chapters first.
    best_per_chapter: dict[int, int] = {}
    for i in sorted(point_ids_pool, key=lambda i: (-scores[i], i)):
        best_per_chapter.setdefault(analysis.sentences[i].chapter, i)
    ranked = sorted(best_per_chapter.values(), key=lambda i: (-scores[i], i))
    ranked += [i for i in sorted(point_ids_pool, key=lambda i: (-scores[i], i)) if i not in ranked]
    point_count = int(min(max(3 + round(hours * 2), 3), 7))
    point_ids = sorted(_distinct(ranked, analysis, point_count, taken=[], topics=topic_keys))
    if len(point_ids) < 3:  # a short, single-subject episode: relax the one-subject-per-point rule
        extra = [i for i in sorted(point_ids_pool, key=lambda i: (-scores[i], i)) if i not in point_ids]
        point_ids = sorted(point_ids + extra[: 3 - len(point_ids)])
    warnings: list[str] = []
    if len(point_ids) < 3:
        loose = [i for i, s in enumerate(sentences) if s.complete and s.words >= 6 and i not in point_ids]
        point_ids = sorted(point_ids + loose[: 3 - len(point_ids)])
    points = [sentences[i].text for i in point_ids]
    if len(points) < 3:
        # No punctuation to find sentences by (some publisher transcripts): whole lines instead.
        lines = sorted(
            (s["text"] for s in segments if POINT_WORDS[0] <= len(s["text"].split()) <= POINT_WORDS[1]),
            key=lambda text: -sum(analysis.weight[k] for k in _line_phrases(text, analysis)),
        )
        points = list(dict.fromkeys(points + lines))[:3]
        warnings.append("the transcript has too few complete sentences: some key points are whole lines")

    quote_pool = [i for i in _candidates(analysis, QUOTE_WORDS) if i not in point_ids]
    quote_scores = _quote_scores(analysis, quote_pool)
    quote_ranked = sorted(quote_pool, key=lambda i: (-quote_scores[i], i))
    quote_count = int(min(max(2 + round(hours * 2), 2), 5))
    quote_ids = sorted(_distinct(quote_ranked, analysis, quote_count, taken=point_ids, topics=topic_keys))

    lead_pool = [i for i in _candidates(analysis, (8, 35)) if i not in point_ids and i not in quote_ids]
    lead_scores = _sentence_scores(analysis, lead_pool)
    lead = ""
    top = set(topic_keys[:3])
    for i in sorted(lead_pool, key=lambda i: (-lead_scores[i], i)):
        if top & set(sentences[i].phrases):
            lead = sentences[i].text
            break

    try:
        content = summary_validate(
            {
                "tldr": _tldr(analysis, topic_keys, lead, context, lang),
                "key_points": points,
                "quotes": [{"text": sentences[i].text, "start": sentences[i].start} for i in quote_ids],
                "chapters": _chapters(analysis, boundaries, lang),
                "topics": topics or ["the episode"],
            }
        )
    except SummaryInvalid as exc:  # e.g. fewer than three distinct sentences to choose from
        raise ProviderRejected(f"no valid extractive summary: {exc}") from None
    if analysis.context_used:
        warnings.append("show notes and title used as context")
    return ProviderOutput(content=content, provider="extractive", model=EXTRACTIVE_MODEL, usage=Usage(), warnings=warnings)
