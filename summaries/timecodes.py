"""Times as transcripts and prompts write them: "m:ss", "h:mm:ss" (decimals allowed) or seconds."""

import re
from typing import Any

_CLOCK = re.compile(r"^\[?(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)\]?$")


def clock_seconds(value: Any) -> Any:
    """Seconds for a "m:ss" / "h:mm:ss" string; anything else is returned unchanged."""
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if match:
            hours, minutes, seconds = match.groups()
            return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return value
