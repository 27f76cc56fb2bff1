"""The layered JSON parser for text replies: plain JSON → fenced block → first object/array.

Control characters inside strings (a raw newline, as small local models write even under a
JSON grammar) are accepted: validation normalizes whitespace afterwards."""

import json
import re
from typing import Any

from summaries.llm.base import MalformedReply, Usage
from summaries.schema import SummaryInvalid, summary_validate

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)


def json_parse_layered(text: str) -> Any:
    """Return the first JSON value found in `text`; ValueError when there is none."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty text")
    try:
        return json.loads(stripped, strict=False)
    except json.JSONDecodeError:
        pass
    for block in _FENCE.findall(stripped):
        try:
            return json.loads(block.strip(), strict=False)
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder(strict=False)
    for match in re.finditer(r"[\[{]", stripped):
        try:
            value, _ = decoder.raw_decode(stripped, match.start())
        except json.JSONDecodeError:
            continue
        # A bare [] or [1] inside prose is not a reply; prefer objects and non-trivial arrays.
        if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
            return value
    raise ValueError("no JSON object found in the reply")


def reply_summary(data: Any = None, *, text: str | None = None, raw: str, usage: Usage | None = None):
    """(validated summary, the reply's raw `ads` list or None) of a model's reply, given as parsed
    `data` (a tool call's input) or as `text` for the layered parser; MalformedReply otherwise,
    carrying `raw`. The ads are checked against the transcript later (output_verify)."""
    if text is not None:
        if not text.strip():
            raise MalformedReply("empty", "the reply had no text", raw=raw, usage=usage)
        try:
            data = json_parse_layered(text)
        except ValueError as exc:
            raise MalformedReply("unparseable", str(exc), raw=raw, usage=usage) from None
    ads = data.get("ads") if isinstance(data, dict) else None
    try:
        return summary_validate(data), (ads if isinstance(ads, list) else None)
    except SummaryInvalid as exc:
        raise MalformedReply("schema_invalid", str(exc), raw=raw, usage=usage) from None
