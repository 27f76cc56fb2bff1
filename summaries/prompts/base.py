"""The prompt template type and the transcript formatting every prompt version shares."""

from dataclasses import dataclass
from typing import Any


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

    def fill(self, template: str, *, context: Any = None, **values: Any) -> str:
        if self.uses_context:
            values["context"] = context_block(context)
        return template.format(**values)


def context_block(context: Any) -> str:
    """What the feed says about the episode (a summaries.llm.prepare.EpisodeContext, or None),
    as plain text lines (feed text: untrusted, capped)."""
    podcast, title, hosts, notes = (
        (context.podcast, context.title, context.hosts, context.show_notes) if context is not None else ("", "", "", "")
    )
    lines = [
        f"Podcast: {' '.join(podcast.split())[:300] or 'unknown'}",
        f"Episode title: {' '.join(title.split())[:500] or 'unknown'}",
    ]
    if hosts:
        lines.append(f"Hosts: {' '.join(hosts.split())[:300]}")
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
