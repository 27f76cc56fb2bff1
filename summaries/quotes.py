"""Quote verification: every quote must be found in the transcript (rapidfuzz).

A quote that matches takes the transcript's own wording (so a shown quote is
verbatim even when the model changed punctuation or a word's case) and the
start time of its first word (word timestamps when the transcript has them,
else the segment's start); one that does not match is dropped and reported,
never shown as a quote.
"""

import re
from typing import Any

from rapidfuzz import fuzz

from summaries.llm.prepare import TimedText

# partial_ratio on case- and punctuation-folded text: 90 tolerates a dropped comma or a
# transcription-level slip in a long quote, and still rejects a paraphrase.
QUOTE_MATCH_THRESHOLD = 90.0
QUOTE_MIN_WORDS = 3


_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> tuple[str, list[int]]:
    """Lower-cased words joined by single spaces (punctuation dropped), plus each folded
    char's index in `text`, so a match maps back to the original wording."""
    words: list[str] = []
    index: list[int] = []
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if len(word) != match.end() - match.start():  # a rare letter whose lower case is longer
            word = match.group()
        if words:
            index.append(match.start() - 1)
        words.append(word)
        index.extend(range(match.start(), match.end()))
    return " ".join(words), index


class TranscriptIndex:
    """The joined transcript, folded once, for matching many quotes."""

    def __init__(self, segments: list[dict[str, Any]]):
        self.segments = segments
        self.timed = TimedText(segments)
        self.text = self.timed.text
        self.folded, self.index = _fold(self.text)

    def find(self, quote: str) -> tuple[float, str, float] | None:
        """(score, verbatim text, start) of the best match, or None below the threshold."""
        needle, _ = _fold(quote)
        if len(needle.split()) < QUOTE_MIN_WORDS or not self.folded:
            return None
        at = self.folded.find(needle)
        if at >= 0:
            score, begin, end = 100.0, at, at + len(needle)
        else:
            alignment = fuzz.partial_ratio_alignment(needle, self.folded, score_cutoff=QUOTE_MATCH_THRESHOLD)
            if alignment is None:
                return None
            score, begin, end = alignment.score, alignment.dest_start, alignment.dest_end
        start_char = self.index[begin]
        end_char = self.index[max(end - 1, begin)] + 1
        # Widen to whole words so the quote never starts or ends mid-word.
        while start_char > 0 and not self.text[start_char - 1].isspace():
            start_char -= 1
        while end_char < len(self.text) and not self.text[end_char].isspace():
            end_char += 1
        while start_char < end_char and self.text[start_char].isspace():
            start_char += 1
        return score, self.text[start_char:end_char].strip(), self.timed.time_at(start_char)


def quotes_verify(quotes: list[dict[str, Any]], segments: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Split quotes into (verified with true text and start, dropped with the reason)."""
    if not quotes:
        return [], []
    index = TranscriptIndex(segments)
    verified: list[dict] = []
    dropped: list[dict] = []
    for quote in quotes:
        match = index.find(quote["text"])
        if match is None:
            dropped.append({"text": quote["text"], "start": quote.get("start"), "reason": "not found in the transcript"})
            continue
        score, text, start = match
        if any(v["text"] == text for v in verified):
            continue  # the same line quoted twice
        verified.append({"text": text, "start": start})
    return verified, dropped
