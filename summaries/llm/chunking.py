"""Summarizing a transcript in one request, or in parts and then merging: shared by the LLM providers.

Every transcript line reaches the model: a transcript over the provider's input
limit is cut into consecutive parts (a too-long line is split on words), each
part is summarized, and the part summaries are merged until one is left. Part
summaries that cannot be merged within the limit are condensed (fewer quotes,
points and chapters; these are model output, not transcript) before merging.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
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


def one_request_user(
    segments: list[dict],
    *,
    prompt: PromptTemplate,
    token_limit: int,
    overhead: int,
    context: EpisodeContext | None = None,
) -> str | None:
    """The user message that summarizes `segments` in one request, or None when the transcript
    does not fit `token_limit` with `overhead` and must go in parts."""
    lines = transcript_lines(segments, block_seconds=prompt.block_seconds, hours_always=prompt.clock_hours)
    transcript = "\n".join(lines)
    if overhead + estimate_tokens(transcript) > token_limit:
        return None
    return prompt.fill(prompt.user, context=context, transcript=transcript, duration=duration_label(segments))


@dataclass
class Summarized:
    content: dict[str, Any]  # the validated summary of the whole transcript
    warnings: list[str]
    # The raw ad spans of the whole-transcript or part replies (merges repeat none); None when
    # the prompt version asks for none. Checked against the transcript later (output_verify).
    ads: list[Any] | None


# One request: the user message in, (validated summary, its raw ad spans or None) out.
Ask = Callable[[str], tuple[dict[str, Any], list[Any] | None]]


def summarize_in_parts(
    segments: list[dict],
    *,
    prompt: PromptTemplate,
    token_limit: int,
    overhead: int,
    ask: Ask,
    context: EpisodeContext | None = None,
) -> Summarized:
    """The summary of `segments`, in one request when it fits, else in parts and merges.
    `token_limit` bounds a request's estimated input, `overhead` is what every request
    spends besides the transcript (system prompt, template, schema)."""
    ads: list[Any] | None = [] if prompt.returns_ads else None

    def ask_collecting(user: str) -> dict[str, Any]:
        content, reply_ads = ask(user)
        if ads is not None and reply_ads:
            ads.extend(reply_ads)
        return content

    user = one_request_user(segments, prompt=prompt, token_limit=token_limit, overhead=overhead, context=context)
    if user is not None:
        return Summarized(content=ask_collecting(user), warnings=[], ads=ads)
    room = token_limit - overhead
    if room < MIN_PART_TOKENS:
        raise ProviderRejected(f"the input limit ({token_limit} tokens) leaves no room for the transcript")
    duration = duration_label(segments)
    lines = transcript_lines(segments, block_seconds=prompt.block_seconds, hours_always=prompt.clock_hours)
    parts = chunks(lines, token_limit=room)
    partials = [
        ask_collecting(
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
        # A merge is told to return no ads: the parts' spans are already collected.
        partials = [
            ask(prompt.fill(prompt.merge, context=context, transcript="\n".join(group), duration=duration))[0] for group in groups
        ]
    return Summarized(content=partials[0], warnings=[f"long transcript summarized in {len(parts)} parts and merged"], ads=ads)
