"""Sentence units of a transcript and the per-unit features the classifier reads.

A unit is one sentence, cut from word timings where the transcript has them
(whisper) and from segment text with interpolated times otherwise (publisher
transcripts). Features are of three kinds: the unit's words and its
neighbourhood's words (TF-IDF, built in model.py), generic cues of ad copy
(web addresses, offer codes, calls to action), and its place in the episode
(position, repetition of the same copy elsewhere in the episode, overlap with
names in the show notes, speech rate).
"""

import html
import re
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
MAX_UNIT_WORDS = 45
MAX_UNIT_SECONDS = 20.0
CONTEXT_SECONDS = 30.0
WIDE_SECONDS = 90.0  # an ad break's cues (lead-in, addresses, codes) lie within about this of each other
REPEAT_MIN_DISTANCE = 120.0
# The windows above are for episodes of this length or longer; a shorter episode scales
# them down (window_scale). Otherwise a two-minute episode is one neighbourhood, and
# every sentence in it sees the ad's addresses and codes as its own context. The
# corpus's shortest episode (16 min) is past it, so the fitted model never saw a
# scaled window.
FULL_WINDOWS_SECONDS = 600.0
TAG = re.compile(r"<[^>]+>")

# Generic shapes of ad copy, not fitted to any episode: web addresses said or
# written, offer codes, calls to action, sponsorship lead-ins, legal small print
# and promotions of other shows.
CUES: dict[str, re.Pattern] = {
    "url": re.compile(
        r"\b[a-z0-9-]+\s?\.\s?(?:com|net|org|io|co|fm|ai|ly|app|tv|us|ca|uk|me)\b|\bdot\s(?:com|net|org|co|io|ai|fm)\b|www\.",
        re.I,
    ),
    "slash": re.compile(r"\bslash\b|\.com/|\.co/", re.I),
    "code": re.compile(r"\b(?:promo|offer|discount|coupon)\s?code\b|\buse (?:the )?code\b|\bcode at checkout\b", re.I),
    "sponsor": re.compile(
        r"\bsponsor(?:ed|s)?\b|\bbrought to you by\b|\bsupport(?:ed)? (?:for|by|comes from)\b|\bpresented by\b|\bpartner(?:ed|ing)? with\b",
        re.I,
    ),
    "offer": re.compile(
        r"\b\d+\s?(?:%|percent) off\b|\bfree (?:trial|shipping|month|for)\b|\bfirst (?:month|order|box)\b|\bsign up\b|\blimited time\b|\bexclusive (?:offer|deal)\b|\bsave (?:up to|\$|big)\b",
        re.I,
    ),
    "call": re.compile(
        r"\b(?:go|head|visit|check out|download|get started|try it|shop|order) (?:to |at |on |the app|now|today|it)|\btoday\b|\bright now\b",
        re.I,
    ),
    "legal": re.compile(
        r"\bterms (?:and conditions )?apply\b|\brestrictions apply\b|\bmember fdic\b|\bnot available in all\b|\bsee site for\b|\bnmls\b",
        re.I,
    ),
    "podcast_promo": re.compile(
        r"\bwherever you (?:get|listen to) (?:your )?podcasts\b|\bnew episodes\b|\blisten (?:now|to|on)\b|\bsubscribe\b|\bpodcast app\b",
        re.I,
    ),
    "money": re.compile(r"\$\s?\d|\b\d+ dollars\b|\bper month\b|\ba month\b", re.I),
}
CUE_NAMES = list(CUES)

DOMAIN = re.compile(r"\b(?:https?://)?(?:www\.)?([a-z0-9-]{3,})\.(?:com|net|org|io|co|fm|ai|ly|app|tv|us)\b", re.I)
PROPER = re.compile(r"\b[A-Z][a-zA-Z]{3,}\b")
# Domains in every feed's boilerplate, not sponsors of the episode.
BOILERPLATE_DOMAINS = {
    "acast",
    "megaphone",
    "podcastchoices",
    "redcircle",
    "simplecast",
    "libsyn",
    "omny",
    "art19",
    "spotify",
    "apple",
    "youtube",
    "instagram",
    "twitter",
    "facebook",
    "tiktok",
    "patreon",
    "google",
    "linktr",
    "bit",
}


# Stateless, so repetition and show-notes overlap work on words never seen in training.
HASHER = HashingVectorizer(ngram_range=(1, 3), n_features=2**18, alternate_sign=False, norm="l2", lowercase=True)


@dataclass(frozen=True)
class Unit:
    start: float
    end: float
    text: str


def _segment_words(segment: dict) -> list[tuple[float, float, str]]:
    words = segment.get("words") or []
    out = []
    for word in words:
        text = str(word.get("word", ""))
        if not text.strip():
            continue
        try:
            start, end = float(word["start"]), float(word["end"])
        except (KeyError, TypeError, ValueError):
            out = []
            break
        out.append((start, max(start, end), text))
    if out:
        return out
    # No word timings: spread the segment's time over its words by length.
    tokens = str(segment.get("text", "")).split()
    if not tokens:
        return []
    start, end = float(segment.get("start", 0.0)), float(segment.get("end", 0.0))
    end = max(start, end)
    total = sum(len(t) + 1 for t in tokens)
    at, out = start, []
    for token in tokens:
        step = (end - start) * (len(token) + 1) / total
        out.append((at, at + step, " " + token))
        at += step
    return out


def transcript_units(segments: list[dict]) -> list[Unit]:
    """Sentences in time order; long run-on speech is cut every MAX_UNIT_WORDS words or MAX_UNIT_SECONDS."""
    words: list[tuple[float, float, str]] = []
    for segment in segments:
        words.extend(_segment_words(segment))
    words.sort(key=lambda w: w[0])
    units: list[Unit] = []
    current: list[tuple[float, float, str]] = []
    for word in words:
        current.append(word)
        too_long = len(current) >= MAX_UNIT_WORDS or current[-1][1] - current[0][0] >= MAX_UNIT_SECONDS
        if SENTENCE_END.search(word[2].rstrip()) or too_long:
            units.append(_unit(current))
            current = []
    if current:
        units.append(_unit(current))
    return units


def _unit(words: list[tuple[float, float, str]]) -> Unit:
    # Whisper's words carry their own leading space; "Progressive" ".com" stays "Progressive.com".
    text = "".join(w[2] for w in words).strip()
    return Unit(words[0][0], words[-1][1], re.sub(r"\s+", " ", text))


def plain_text(description: str) -> str:
    """Show notes as text: tags dropped, entities decoded."""
    return html.unescape(TAG.sub(" ", description or ""))


def sponsor_terms(description: str, title: str = "") -> set[str]:
    """Names the show notes give that may be sponsors: domains, and capitalised words on lines with an offer.

    Names of the episode's subjects would also be caught by the second rule,
    so words of the title are left out.
    """
    raw = html.unescape(description or "")
    terms = {m.group(1).lower() for m in DOMAIN.finditer(raw)} - BOILERPLATE_DOMAINS
    title_words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", title)}
    for line in re.split(r"[\n\r]+|<br\s*/?>|</p>|</li>", raw):
        # Names on lines that sell something; names on lines with a mere link are often the guests'.
        if re.search(r"\bcode\b|\bsponsor|\bpromo|\boffer\b|\d+\s?% off|\bdiscount", line, re.I):
            for word in PROPER.findall(plain_text(line)):
                terms.add(word.lower())
    return {t for t in terms if t not in title_words and len(t) >= 4}


def window_scale(units: list[Unit]) -> float:
    """The share of the full context windows an episode this long uses: 1 from FULL_WINDOWS_SECONDS on."""
    if not units:
        return 1.0
    return min(1.0, max(units[-1].end - units[0].start, 0.0) / FULL_WINDOWS_SECONDS)


def _window_indices(starts: np.ndarray, ends: np.ndarray, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """For each unit, the range [lo, hi) of units whose time lies within `seconds` of it."""
    lo = np.searchsorted(ends, starts - seconds, side="left")
    hi = np.searchsorted(starts, ends + seconds, side="right")
    return lo, hi


def context_matrices(units: list[Unit], seconds: float = CONTEXT_SECONDS):
    """Sparse n×n matrices (before, after): 1 where unit j lies within `seconds` before (after) unit i.

    Multiplying per-unit rows by them sums each unit's neighbourhood on either
    side, far cheaper than vectorising the neighbourhood's text again. The
    sides are kept apart because a unit inside an ad has ad copy on both sides,
    and one just after an ad only before it: that is where boundaries are.
    """
    n = len(units)
    starts = np.array([u.start for u in units])
    ends = np.array([u.end for u in units])
    lo, hi = _window_indices(starts, ends, seconds)
    rows = np.repeat(np.arange(n), hi - lo)
    cols = np.concatenate([np.arange(lo[i], hi[i]) for i in range(n)]) if n else np.zeros(0, dtype=int)
    sides = []
    for keep in (cols < rows, cols > rows):
        sides.append(sparse.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n)))
    return sides[0], sides[1]


DENSE_NAMES = (
    [f"cue_{name}" for name in CUE_NAMES]
    + [f"before_{name}" for name in CUE_NAMES]
    + [f"after_{name}" for name in CUE_NAMES]
    + [
        "before_cue_units",
        "after_cue_units",
        "wide_before_cue_units",
        "wide_after_cue_units",
        "repeat_max",
        "repeat_ctx",
        "notes_terms",
        "notes_terms_ctx",
        "notes_similarity",
        "rate_ratio",
        "log_words",
    ]
)


def dense_features(
    units: list[Unit],
    *,
    before,
    after,
    description: str,
    title: str = "",
    scale: float = 1.0,
) -> np.ndarray:
    """One row per unit, columns DENSE_NAMES; `scale` shrinks the wide and repeat windows (window_scale)."""
    n = len(units)
    if n == 0:
        return np.zeros((0, len(DENSE_NAMES)))
    starts = np.array([u.start for u in units])
    ends = np.array([u.end for u in units])
    cues = np.array([[1.0 if pattern.search(u.text) else 0.0 for pattern in CUES.values()] for u in units])
    wide_before, wide_after = context_matrices(units, WIDE_SECONDS * scale)
    window = before + after
    sizes = np.asarray(window.sum(axis=1)).ravel() + 1
    any_cue = (cues.sum(axis=1) > 0).astype(float)

    # Copy read more than once in an episode: the unit's best match at least
    # REPEAT_MIN_DISTANCE seconds away.
    unit_vectors = HASHER.transform([u.text for u in units])
    notes = plain_text(description)
    notes_vector = HASHER.transform([notes]) if notes.strip() else None
    notes_terms = sponsor_terms(description, title)
    centers = (starts + ends) / 2
    short = np.array([len(u.text.split()) < 6 for u in units])
    repeat = np.zeros(n)
    for first in range(0, n, 512):
        # Row blocks keep memory flat on a four-hour episode.
        block = (unit_vectors[first : first + 512] @ unit_vectors.T).toarray()
        near = np.abs(centers[first : first + 512, None] - centers[None, :]) < REPEAT_MIN_DISTANCE * scale
        block[near] = 0.0
        block[:, short] = 0.0
        repeat[first : first + 512] = block.max(axis=1)
    repeat[short] = 0.0
    repeat_ctx = (window @ repeat + repeat) / sizes

    lowered = [set(re.findall(r"[a-z0-9]{4,}", u.text.lower())) for u in units]
    terms = np.array([1.0 if notes_terms and (words & notes_terms) else 0.0 for words in lowered])
    terms_ctx = np.minimum(window @ terms, 3.0)
    if notes_vector is not None and notes_vector.nnz:
        # Talk about the episode's subject resembles its show notes; ad copy does not.
        own_sim = np.asarray((unit_vectors @ notes_vector.T).todense()).ravel()
        notes_sim = (window @ own_sim + own_sim) / sizes
    else:
        notes_sim = np.zeros(n)

    word_counts = np.array([len(u.text.split()) for u in units], dtype=float)
    lengths = np.maximum(ends - starts, 0.2)
    rates = word_counts / lengths
    median_rate = float(np.median(rates[word_counts >= 5])) if (word_counts >= 5).any() else float(np.median(rates))
    rate_ratio = np.clip(rates / max(median_rate, 0.1), 0.0, 3.0)

    columns = [
        cues,
        np.minimum(before @ cues, 4.0),
        np.minimum(after @ cues, 4.0),
        np.minimum(before @ any_cue, 8.0)[:, None],
        np.minimum(after @ any_cue, 8.0)[:, None],
        np.minimum(wide_before @ any_cue, 12.0)[:, None],
        np.minimum(wide_after @ any_cue, 12.0)[:, None],
        repeat[:, None],
        repeat_ctx[:, None],
        terms[:, None],
        terms_ctx[:, None],
        notes_sim[:, None],
        rate_ratio[:, None],
        np.log1p(word_counts)[:, None],
    ]
    return np.hstack(columns)
