"""Summarizing a transcript in one request, or in parts and then merging: shared by the LLM providers.

Every transcript line reaches the model: a transcript over the provider's input
limit is cut into consecutive parts (a too-long line is split on words), each
part is summarized, and the part summaries are merged until one is left. Part
summaries that cannot be merged within the limit are condensed (fewer quotes,
points and chapters; these are model output, not transcript) before merging.
"""

import json
from collections.abc import Callable
from typing import Any

from summaries.llm.base import ProviderRejected, estimate_tokens
from summaries.llm.prepare import EpisodeContext
from summaries.prompts import PromptTemplate, transcript_lines

MIN_PART_TOKENS = 200
# Each level keeps fewer items of a part summary, and shorter ones, for the merge request.
_CONDENSE_LEVELS = (
    {"quotes": 2, "key_points": 4, "chapters": 4, "topics": 4, "chars": 400},
    {"quotes": 1, "key_points": 3, "chapters": 2, "topics": 2, "chars": 200},
    {"quotes": 0, "key_points": 3, "chapters": 1, "topics": 1, "chars": 100},
)


def duration_label(segments: list[dict]) -> str:
    seconds = int(max(s["end"] for s in segments))
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"


def chunks(lines: list[str], *, token_limit: int) -> list[list[str]]:
    """Consecutive runs of lines, each under `token_limit` (a too-long line is split on words)."""
    runs: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        pieces = [line]
        if estimate_tokens(line) > token_limit:
            words, pieces, piece = line.split(), [], []
            for word in words:
                if piece and estimate_tokens(" ".join(piece + [word])) > token_limit:
                    pieces.append(" ".join(piece))
                    piece = []
                piece.append(word)
            pieces.append(" ".join(piece))
        for piece in pieces:
            cost = estimate_tokens(piece) + 1
            if current and size + cost > token_limit:
                runs.append(current)
                current, size = [], 0
            current.append(piece)
            size += cost
    if current:
        runs.append(current)
    return runs


def condense(partial: dict[str, Any], level: int) -> dict[str, Any]:
    """A part summary with fewer and shorter items (level 0: unchanged), for a merge request."""
    if level == 0:
        return partial
    keep = _CONDENSE_LEVELS[min(level, len(_CONDENSE_LEVELS)) - 1]
    cut = keep["chars"]
    return {
        "tldr": partial["tldr"][: cut * 2],
        "key_points": [p[:cut] for p in partial["key_points"][: keep["key_points"]]],
        "quotes": partial["quotes"][: keep["quotes"]],  # quotes stay whole: they are verified word for word
        "chapters": [{**c, "title": c["title"][:cut]} for c in partial["chapters"][: keep["chapters"]]],
        "topics": partial["topics"][: keep["topics"]],
    }


def _merge_groups(partials: list[dict[str, Any]], *, token_limit: int) -> list[list[str]]:
    """Groups of part summaries (as JSON lines) that fit `token_limit` and are fewer than the partials."""
    for level in range(len(_CONDENSE_LEVELS) + 1):
        lines = [json.dumps(condense(p, level), ensure_ascii=False) for p in partials]
        groups = chunks(lines, token_limit=token_limit)
        # chunks() splits a single over-long JSON line on words, which would break it: such a
        # grouping does not count, nor does one that cannot shrink.
        if len(groups) < len(partials) and all(line in lines for group in groups for line in group):
            return groups
    # Still no fit: merge pairs; a provider with a hard context limit refuses the oversized request.
    return [lines[i : i + 2] for i in range(0, len(lines), 2)]


def summarize_in_parts(
    segments: list[dict],
    *,
    prompt: PromptTemplate,
    token_limit: int,
    overhead: int,
    ask: Callable[[str], dict[str, Any]],
    context: EpisodeContext | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The validated summary of `segments` and warnings. `ask(user_message)` returns one validated
    reply; `token_limit` bounds a request's estimated input, `overhead` is what every request
    spends besides the transcript (system prompt, template, schema)."""
    duration = duration_label(segments)
    lines = transcript_lines(segments, block_seconds=prompt.block_seconds, hours_always=prompt.clock_hours)
    transcript = "\n".join(lines)
    if overhead + estimate_tokens(transcript) <= token_limit:
        return ask(prompt.fill(prompt.user, context=context, transcript=transcript, duration=duration)), []
    room = token_limit - overhead
    if room < MIN_PART_TOKENS:
        raise ProviderRejected(f"the input limit ({token_limit} tokens) leaves no room for the transcript")
    parts = chunks(lines, token_limit=room)
    partials = [
        ask(
            prompt.fill(
                prompt.chunk_for(i + 1),
                context=context,
                transcript="\n".join(part),
                duration=duration,
                part=i + 1,
                parts=len(parts),
            )
        )
        for i, part in enumerate(parts)
    ]
    while len(partials) > 1:
        groups = _merge_groups(partials, token_limit=room)
        partials = [
            ask(prompt.fill(prompt.merge, context=context, transcript="\n".join(group), duration=duration)) for group in groups
        ]
    return partials[0], [f"long transcript summarized in {len(parts)} parts and merged"]
