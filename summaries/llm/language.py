"""Everything language-specific the offline summarizer and the transcript preparation use.

One place for stop words, spoken filler, housekeeping phrases and whisper's
hallucinated lines, so adding a language means adding entries here (keyed by
an ISO 639-1 code) and nothing else. Word rarity comes from `wordfreq`
(general-language frequencies for ~40 languages), so "called" or "biggest"
never pass for a subject just because a transcript repeats them.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

DEFAULT_LANGUAGE = "en"

# Conversation words that a stop list for written text misses.
_EN_FILLER = {
    "yeah",
    "yes",
    "yep",
    "okay",
    "ok",
    "um",
    "uh",
    "uhm",
    "hmm",
    "mm",
    "oh",
    "ah",
    "like",
    "just",
    "really",
    "know",
    "think",
    "going",
    "gonna",
    "wanna",
    "gotta",
    "right",
    "thing",
    "things",
    "lot",
    "lots",
    "kind",
    "sort",
    "actually",
    "mean",
    "basically",
    "literally",
    "stuff",
    "guy",
    "guys",
    "blah",
    "dude",
    "man",
    "cool",
    "pretty",
    "totally",
    "absolutely",
    "exactly",
    "definitely",
    "probably",
    "maybe",
    "sure",
    "talk",
    "talking",
    "said",
    "say",
    "says",
    "saying",
    "tell",
    "told",
    "got",
    "get",
    "gets",
    "getting",
    "want",
    "wanted",
    "wants",
    "need",
    "let",
    "make",
    "made",
    "look",
    "looking",
    "little",
    "big",
    "bigger",
    "biggest",
    "good",
    "great",
    "bad",
    "best",
    "better",
    "called",
    "call",
    "today",
    "week",
    "time",
    "times",
    "day",
    "way",
    "ways",
    "people",
    "person",
    "year",
    "years",
    "episode",
    "podcast",
    "show",
    "listen",
    "listeners",
    "real",
    "whole",
    "different",
    "crazy",
    "huh",
    "wow",
    "hey",
    "gosh",
    "bro",
    "y'all",
    "ain't",
    "nah",
    "i'm",
    "it's",
    "that's",
    "don't",
    "you're",
    "we're",
    "they're",
    "there's",
    "can't",
    "didn't",
    "doesn't",
    "let's",
    "i've",
    "you've",
    "we've",
    "i'll",
    "you'll",
    "we'll",
    "he's",
    "she's",
    "what's",
    "isn't",
    "wasn't",
    "won't",
    "wouldn't",
    "couldn't",
    "shouldn't",
    "i'd",
    "you'd",
    "haven't",
    "aren't",
    "who's",
    "somebody",
    "someone",
    "something",
    "anything",
    "everything",
    "nothing",
    "everybody",
    "anybody",
    "start",
    "started",
    "come",
    "comes",
    "came",
    "coming",
    "goes",
    "went",
    "gone",
    "took",
    "take",
    "taking",
    "knew",
    "thought",
    "feel",
    "felt",
    "saw",
    "see",
    "seen",
    "use",
    "used",
    "using",
    "try",
    "trying",
    "work",
    "works",
    "happen",
    "happened",
    "point",
    "number",
    "part",
    "bunch",
    "couple",
    "minute",
    "minutes",
    "second",
    "seconds",
    "hour",
    "hours",
    "tonight",
    "yesterday",
    "tomorrow",
    "ago",
    "anyway",
    "alright",
    # spoken URLs ("example dot com slash show")
    "com",
    "dot",
    "slash",
    "www",
    "http",
    "https",
    "org",
    "net",
}

# A sentence matching one of these is about the show itself, not its subject.
_EN_HOUSEKEEPING = re.compile(
    r"\b(take (a|our|a quick|our first|another) (short |quick )?break|be right back|after the break|"
    r"when we come back|subscribe|patreon|leave (us )?a (review|rating)|rate and review|five.star|"
    r"thanks? (you )?for (listening|watching|tuning in|joining)|see you next|until next time|"
    r"follow us|wherever you get your podcasts|welcome (back )?to (the )?(show|podcast|episode)|"
    r"this episode is brought to you|sponsored by|promo code|dot com slash|our sponsor|"
    r"link in the (show notes|description)|in the show notes|sign up for our newsletter|"
    r"let'?s get (into it|started)|without further ado)\b",
    re.IGNORECASE,
)

# Show-notes lines about sponsors: never context for what the episode is about.
_EN_SPONSOR_LINE = re.compile(
    r"\b(sponsor|sponsored|brought to you|promo code|discount code|% off|advertis|ad choices|adchoices)", re.IGNORECASE
)

# Who is introduced ("I'm Amy Guth", "This is Field Notes."): the show and its hosts, not a subject.
_EN_INTRODUCTION = re.compile(
    r"\b(?:I'm|I am|my name is|with|host|hosts?)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)"
    r"|^(?:This is|Welcome (?:back )?to)\s+(?:the\s+)?([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,3})[.,!]"
)

# A quote says something: a claim or a view.
_EN_OPINION = re.compile(
    r"\b(I think|I believe|I feel|I love|I hate|the (thing|problem|truth|key) is|never|always|should|must|most|"
    r"important|best|worst)\b",
    re.IGNORECASE,
)

# Lines whisper invents over music, silence and applause (seen on real episodes).
_EN_HALLUCINATIONS = {
    "thank you for watching",
    "thanks for watching",
    "thank you for watching and see you next time",
    "thank you so much for watching",
    "please subscribe",
    "please subscribe to my channel",
    "like and subscribe",
    "subtitles by the amara org community",
    "thank you",
    "thank you very much",
    "bye",
    "you",
}


# A full stop after these does not end a sentence.
_EN_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "jr",
    "sr",
    "st",
    "vs",
    "etc",
    "inc",
    "co",
    "corp",
    "ltd",
    "no",
    "mt",
    "a.k.a",
    "aka",
    "e.g",
    "i.e",
    "u.s",
    "u.k",
    "d.c",
    "p.m",
    "a.m",
    "gov",
    "sen",
    "rep",
    "prof",
    "gen",
}

# Sentence openers that mark an aside or a continuation rather than a statement of its own.
_EN_WEAK_OPENERS = {
    "and",
    "but",
    "so",
    "or",
    "because",
    "yeah",
    "um",
    "uh",
    "like",
    "okay",
    "oh",
    "well",
    "now",
    "right",
    "no",
    "yes",
    "which",
    "then",
    "also",
    "i'm",
    "this",
    "that",
    "it",
    "they",
    "he",
    "she",
}


def _lemmas(word: str) -> dict:
    # Imported on first use: lemminflect and wordfreq load ~2 s of data that only the
    # extractive summarizer needs, and every forked RQ job that imports summaries would pay it.
    from lemminflect import getAllLemmas

    return getAllLemmas(word)


@lru_cache(maxsize=65536)
def _en_noun_like(word: str) -> bool:
    """Can `word` head a noun phrase? lemminflect's lexicon knows each word's parts of speech;
    a word it does not know is most often a name. Gerunds ("beekeeping") count as nouns."""
    tags = _lemmas(word)
    if not tags:
        return True
    if "NOUN" in tags or "PROPN" in tags:
        return True
    return word.endswith("ing") and "VERB" in tags and zipf(word) < 3.8


@lru_cache(maxsize=65536)
def _en_verb_like(word: str) -> bool:
    """Can `word` be a verb (a sentence needs one to say something)?"""
    tags = _lemmas(word)
    return "VERB" in tags or "AUX" in tags


@dataclass(frozen=True)
class Language:
    code: str
    stop_words: frozenset[str]
    housekeeping: re.Pattern
    hallucinations: frozenset[str]
    # Joins the last two items of a list ("bees, mites and honey").
    conjunction: str
    sponsor_line: re.Pattern = re.compile(r"(?!x)x")
    introduction: re.Pattern = re.compile(r"(?!x)x")
    opinion: re.Pattern = re.compile(r"(?!x)x")
    abbreviations: frozenset[str] = frozenset()
    weak_openers: frozenset[str] = frozenset()
    # Whether a word can end (head) a subject phrase; without a lexicon, any word can.
    noun_like: Callable[[str], bool] = lambda word: True
    verb_like: Callable[[str], bool] = lambda word: True
    # A word this common in general use (Zipf scale, ~3.0 = once per million words) is no subject alone.
    common_zipf: float = 4.6


def _english() -> Language:
    # scikit-learn's English stop list, imported here: importing summaries must stay cheap
    # for the RQ jobs that never summarize offline.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return Language(
        code="en",
        stop_words=frozenset(ENGLISH_STOP_WORDS | _EN_FILLER),
        housekeeping=_EN_HOUSEKEEPING,
        hallucinations=frozenset(_EN_HALLUCINATIONS),
        conjunction="and",
        sponsor_line=_EN_SPONSOR_LINE,
        introduction=_EN_INTRODUCTION,
        opinion=_EN_OPINION,
        abbreviations=frozenset(_EN_ABBREVIATIONS),
        weak_openers=frozenset(_EN_WEAK_OPENERS),
        noun_like=_en_noun_like,
        verb_like=_en_verb_like,
    )


# Builders by ISO 639-1 code; add a language by adding its word lists and a builder here.
LANGUAGES = {"en": _english}
_NEVER = re.compile(r"(?!x)x")
_CONJUNCTIONS = {"fr": "et", "es": "y", "de": "und", "it": "e", "pt": "e", "nl": "en", "sv": "och", "da": "og", "no": "og"}


def _stopwordsiso(code: str) -> Language:
    """Another language: its stop words from stopwordsiso (no English lists, no English
    part-of-speech lexicon), so a French transcript is not read with English stop words."""
    import stopwordsiso  # on first use, like the other word lists

    return Language(
        code=code,
        stop_words=frozenset(stopwordsiso.stopwords(code)),
        housekeeping=_NEVER,
        hallucinations=frozenset(),
        conjunction=_CONJUNCTIONS.get(code, "&"),
    )


@cache
def language_get(code: str | None = None) -> Language:
    """The language's word lists: its own builder, else stopwordsiso's stop words for it;
    a code neither knows falls back to English."""
    code = (code or DEFAULT_LANGUAGE).split("-")[0].lower()
    if code in LANGUAGES:
        return LANGUAGES[code]()
    import stopwordsiso

    if stopwordsiso.has_lang(code):
        return _stopwordsiso(code)
    return LANGUAGES[DEFAULT_LANGUAGE]()


@lru_cache(maxsize=65536)
def zipf(word: str, code: str = DEFAULT_LANGUAGE) -> float:
    """How common `word` is in general use (wordfreq's Zipf scale: 0 unseen, 7 'the')."""
    from wordfreq import zipf_frequency  # on first use, see _lemmas

    return zipf_frequency(word, code)


_FOLD = re.compile(r"[^\w']+")


def fold(text: str) -> str:
    """Lower case, punctuation dropped, single spaces: the form lines are compared in."""
    return " ".join(_FOLD.sub(" ", text.lower()).split())
