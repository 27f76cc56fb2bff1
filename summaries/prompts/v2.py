"""v2: tighter guidance, and ~30-second timestamped blocks (fewer tokens than one line per segment)."""

from summaries.prompts.base import PromptTemplate

_SYSTEM = """You write summaries of podcast episodes for busy listeners, working only from the transcript you are given.

Always answer by calling the record_summary tool. Rules:
- tldr: one to three plain sentences saying what the episode is about and why it matters.
- key_points: 3 to 7 distinct points, one sentence each, in the order they come up.
- quotes: up to 5 memorable lines copied word for word from the transcript (no paraphrase, no
  joining of separate lines); start is the time in seconds of the line the quote comes from.
- chapters: the episode's sections in order; the first starts at 0; titles of a few words;
  start in seconds taken from the transcript's timestamps.
- topics: 3 to 8 short subject tags.
- Never invent facts, names or quotes that are not in the transcript. Timestamps in the
  transcript look like [m:ss] or [h:mm:ss]; convert them to seconds."""

PROMPT = PromptTemplate(
    version="v2",
    system=_SYSTEM,
    user="Episode length: {duration}.\n\n<transcript>\n{transcript}\n</transcript>",
    chunk=(
        "Episode length: {duration}. This is part {part} of {parts} of the transcript; "
        "summarize this part on its own.\n\n<transcript>\n{transcript}\n</transcript>"
    ),
    merge=(
        "Episode length: {duration}. Below are summaries of its consecutive parts, as JSON. "
        "Write one summary of the whole episode from them: merge the chapters in order, keep "
        "quotes and their start times exactly as given, and pick the points that matter most.\n\n"
        "<part_summaries>\n{transcript}\n</part_summaries>"
    ),
    block_seconds=30.0,
)
