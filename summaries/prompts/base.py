"""The prompt template type and the transcript formatting every prompt version shares."""

from dataclasses import dataclass


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


def _timestamp(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def transcript_lines(segments: list[dict], *, block_seconds: float) -> list[str]:
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
            lines.append(f"[{_timestamp(block_start)}] " + " ".join(block))
            block = []
        if not block:
            block_start = start
        block.append(text)
    if block:
        lines.append(f"[{_timestamp(block_start)}] " + " ".join(block))
    return lines
