"""v1: the first prompt. One timestamped line per transcript segment."""

from summaries.prompts.base import PromptTemplate

PROMPT = PromptTemplate(
    version="v1",
    system=(
        "You summarize podcast episodes from their transcripts. "
        "Call the record_summary tool with a summary of the episode: a tldr, 3 to 7 key points, "
        "up to 5 quotes copied exactly from the transcript with the start time in seconds of the line "
        "they come from, chapters with start times in seconds, and topics."
    ),
    user="Transcript of an episode lasting {duration}. Each line starts with [minutes:seconds].\n\n{transcript}",
    chunk=(
        "This is part {part} of {parts} of the transcript of an episode lasting {duration}. "
        "Summarize this part only. Each line starts with [minutes:seconds].\n\n{transcript}"
    ),
    merge=(
        "These are summaries of consecutive parts of one episode lasting {duration}, as JSON. "
        "Merge them into one summary of the whole episode; keep quotes and times exactly as given.\n\n{transcript}"
    ),
    block_seconds=0.0,
)
