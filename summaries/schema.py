"""The one summary schema every provider's output is validated against before storage.

`SUMMARY_JSON_SCHEMA` is the forced tool's input schema (what Claude is asked to
produce); `summary_validate` is the gate: it returns the normalized content that
gets stored, or raises `SummaryInvalid` naming the first problems. Unknown keys
are dropped rather than rejected, so a model that adds a harmless field still
yields a summary, but nothing outside the schema is ever stored or shown.
"""

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from summaries.timecodes import clock_seconds

TLDR_MAX_SENTENCES = 3
KEY_POINTS_MIN, KEY_POINTS_MAX = 3, 7
QUOTES_MAX = 5
CHAPTERS_MIN, CHAPTERS_MAX = 1, 30
TOPICS_MIN, TOPICS_MAX = 1, 10

# A sentence ends at . ! or ? followed by whitespace and a capital letter or digit
# (so "e.g. this" and "3.5 hours" do not count as two sentences).
SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]*\s+(?=[A-Z0-9\"'(])")


class SummaryInvalid(ValueError):
    """A provider's output does not fit the schema."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors[:5]))


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


class _Base(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Quote(_Base):
    text: str = Field(min_length=1, max_length=600)
    start: float = Field(ge=0, allow_inf_nan=False)

    _start_clock = field_validator("start", mode="before")(lambda cls, v: clock_seconds(v))

    @field_validator("text")
    @classmethod
    def _collapse(cls, value: str) -> str:
        return _clean(value)


class Chapter(_Base):
    title: str = Field(min_length=1, max_length=150)
    start: float = Field(ge=0, allow_inf_nan=False)

    _start_clock = field_validator("start", mode="before")(lambda cls, v: clock_seconds(v))

    @field_validator("title")
    @classmethod
    def _collapse(cls, value: str) -> str:
        return _clean(value)


class SummaryContent(_Base):
    tldr: str = Field(min_length=1, max_length=800)
    key_points: list[str] = Field(min_length=KEY_POINTS_MIN, max_length=KEY_POINTS_MAX)
    quotes: list[Quote] = Field(default_factory=list, max_length=QUOTES_MAX)
    chapters: list[Chapter] = Field(min_length=CHAPTERS_MIN, max_length=CHAPTERS_MAX)
    topics: list[str] = Field(min_length=TOPICS_MIN, max_length=TOPICS_MAX)

    @field_validator("tldr")
    @classmethod
    def _tldr_sentences(cls, value: str) -> str:
        value = _clean(value)
        if len(SENTENCE_BREAK.findall(value)) + 1 > TLDR_MAX_SENTENCES:
            raise ValueError(f"tldr must be 1-{TLDR_MAX_SENTENCES} sentences")
        return value

    @field_validator("key_points", "topics")
    @classmethod
    def _distinct_strings(cls, values: list[str]) -> list[str]:
        cleaned = [_clean(v) for v in values]
        if any(not v for v in cleaned):
            raise ValueError("items must not be empty")
        if any(len(v) > 400 for v in cleaned):
            raise ValueError("items must be at most 400 characters")
        if len({v.casefold() for v in cleaned}) != len(cleaned):
            raise ValueError("items must be distinct")
        return cleaned

    @model_validator(mode="after")
    def _chapters_ascending(self):
        starts = [c.start for c in self.chapters]
        if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise ValueError("chapters must be in strictly ascending start order")
        if any(len(t) > 60 for t in self.topics):
            raise ValueError("topics must be at most 60 characters")
        return self


def summary_validate(data: Any) -> dict[str, Any]:
    """Return the normalized summary content, or raise SummaryInvalid."""
    if not isinstance(data, dict):
        raise SummaryInvalid([f"expected a JSON object, got {type(data).__name__}"])
    try:
        content = SummaryContent.model_validate(data)
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc']) or 'summary'}: {e['msg']}" for e in exc.errors()]
        raise SummaryInvalid(errors) from None
    return content.model_dump()


# The forced tool's input schema: the same rules, in JSON Schema for the Messages API.
SUMMARY_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tldr": {"type": "string", "description": f"1-{TLDR_MAX_SENTENCES} sentences: what the episode is about."},
        "key_points": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": KEY_POINTS_MIN,
            "maxItems": KEY_POINTS_MAX,
            "description": "Distinct main points, one sentence each.",
        },
        "quotes": {
            "type": "array",
            "maxItems": QUOTES_MAX,
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "description": "Copied word for word from the transcript."},
                    "start": {"type": "number", "description": "Seconds from the start, from the transcript's timestamps."},
                },
                "required": ["text", "start"],
            },
        },
        "chapters": {
            "type": "array",
            "minItems": CHAPTERS_MIN,
            "maxItems": CHAPTERS_MAX,
            "items": {
                "type": "object",
                "properties": {"title": {"type": "string"}, "start": {"type": "number", "description": "Seconds."}},
                "required": ["title", "start"],
            },
            "description": "In ascending order of start; the first starts at the beginning.",
        },
        "topics": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": TOPICS_MIN,
            "maxItems": TOPICS_MAX,
            "description": "Short subject tags.",
        },
    },
    "required": ["tldr", "key_points", "quotes", "chapters", "topics"],
}


_CLOCK_STRING = {"type": "string", "pattern": r"^\d+:[0-5]\d:[0-5]\d$", "description": "h:mm:ss, copied from the transcript."}

# v3's tool: times as h:mm:ss strings (converted and checked by the code, not computed by the
# model), every length limit the validator enforces, no other keys, and the episode's ad spans.
SUMMARY_JSON_SCHEMA_V3: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "tldr": {
            "type": "string",
            "maxLength": 800,
            "description": f"1-{TLDR_MAX_SENTENCES} sentences naming what the episode is about.",
        },
        "key_points": {
            "type": "array",
            "items": {"type": "string", "maxLength": 400},
            "minItems": KEY_POINTS_MIN,
            "maxItems": KEY_POINTS_MAX,
            "description": "Distinct main points, one complete sentence each, each on a different subject.",
        },
        "quotes": {
            "type": "array",
            "maxItems": QUOTES_MAX,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "text": {"type": "string", "maxLength": 600, "description": "Copied word for word from the transcript."},
                    "start": _CLOCK_STRING,
                },
                "required": ["text", "start"],
            },
        },
        "chapters": {
            "type": "array",
            "minItems": CHAPTERS_MIN,
            "maxItems": CHAPTERS_MAX,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "title": {"type": "string", "maxLength": 150, "description": "2-6 words, a phrase a person would write."},
                    "start": _CLOCK_STRING,
                },
                "required": ["title", "start"],
            },
            "description": "In ascending order of start; one per 5-15 minutes.",
        },
        "topics": {
            "type": "array",
            "items": {"type": "string", "maxLength": 60},
            "minItems": TOPICS_MIN,
            "maxItems": TOPICS_MAX,
            "description": "Short subject tags: names or noun phrases.",
        },
        "ads": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "start": _CLOCK_STRING,
                    "end": _CLOCK_STRING,
                    "label": {"type": "string", "maxLength": 200, "description": "The sponsor or the promoted show."},
                },
                "required": ["start", "end", "label"],
            },
            "description": "Sponsor reads, ads and cross-promotions; [] when there are none.",
        },
    },
    "required": ["tldr", "key_points", "quotes", "chapters", "topics", "ads"],
}
