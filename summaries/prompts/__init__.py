"""Prompt versions: each a named template in its own module; SUMMARY_PROMPT_VERSION picks the current one.

A summary whose `prompt_version` differs from the current one is outdated. Add a
version by adding a module and registering it in PROMPTS; never edit a released
one in a way that changes its output, since stored summaries name it.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from summaries.llm.prepare import EpisodeContext


@dataclass(frozen=True)
class PromptTemplate:
    version: str
    system: str
    # `{transcript}` and `{duration}` are filled in; `{part}` for one chunk of a long transcript.
    user: str
    chunk: str
    merge: str
    # Seconds of transcript per timestamped line (0: one line per segment).
    block_seconds: float = 0.0
    # Chunks after the first (v3: no "the first chapter starts at 0" there); "" → `chunk`.
    chunk_later: str = ""
    # Timestamps always as h:mm:ss (v3) rather than m:ss under an hour.
    clock_hours: bool = False
    # `{context}` is filled with the episode block (titles, hosts, show notes).
    uses_context: bool = False
    # Sends SUMMARY_TEMPERATURE (earlier versions left the API default).
    uses_temperature: bool = False
    # The forced tool's input schema; None → summaries.schema.SUMMARY_JSON_SCHEMA.
    tool_schema: dict[str, Any] | None = None
    # The reply carries `ads: [{start, end, label}]`, checked against the transcript.
    returns_ads: bool = False

    def chunk_for(self, part: int) -> str:
        return self.chunk_later if part > 1 and self.chunk_later else self.chunk

    def fill(self, template: str, *, context: EpisodeContext | None = None, **values: Any) -> str:
        if self.uses_context:
            values["context"] = context_block(context or EpisodeContext())
        return template.format(**values)


def context_block(context: EpisodeContext) -> str:
    """What the feed says about the episode, as plain text lines (feed text: untrusted, capped)."""
    lines = [
        f"Podcast: {' '.join(context.podcast.split())[:300] or 'unknown'}",
        f"Episode title: {' '.join(context.title.split())[:500] or 'unknown'}",
    ]
    if context.hosts:
        lines.append(f"Hosts: {' '.join(context.hosts.split())[:300]}")
    notes = context.show_notes
    lines.append("Show notes (from the feed; they may list sponsors):\n" + notes if notes else "Show notes: none")
    return "\n".join(lines)


def _timestamp(seconds: float, *, hours_always: bool = False) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    if hours or hours_always:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60}:{rest % 60:02d}"


def transcript_lines(segments: list[dict], *, block_seconds: float, hours_always: bool = False) -> list[str]:
    """The transcript as `[m:ss] text` lines: every segment's text, none dropped."""
    lines: list[str] = []
    block: list[str] = []
    block_start = 0.0
    for segment in segments:
        text = " ".join(str(segment.get("text", "")).split())
        if not text:
            continue
        start = float(segment.get("start", 0.0))
        if block and start - block_start >= block_seconds:
            lines.append(f"[{_timestamp(block_start, hours_always=hours_always)}] " + " ".join(block))
            block = []
        if not block:
            block_start = start
        block.append(text)
    if block:
        lines.append(f"[{_timestamp(block_start, hours_always=hours_always)}] " + " ".join(block))
    return lines


def prompt_get(version: str) -> PromptTemplate:
    from summaries.prompts import v1, v2, v3

    prompts = {p.version: p for p in (v1.PROMPT, v2.PROMPT, v3.PROMPT)}
    try:
        return prompts[version]
    except KeyError:
        raise ValueError(f"unknown prompt version {version!r} (known: {', '.join(sorted(prompts))})") from None


def prompt_versions() -> list[str]:
    return ["v1", "v2", "v3"]


def current_prompt_version() -> str:
    return settings.SUMMARY_PROMPT_VERSION
