"""Numbers read from a request, bounded before any use (a query offset, a file seek)."""

import re

_INTEGER = re.compile(r"([+-]?)([0-9]+)")
_LONGEST = 18  # digits: below 2**63, what every integer column and file offset holds
# Past this a page number is clamped (then the last page is shown): query offsets stay small.
MAX_PAGE = 100_000


def bounded_int(value: object, *, default: int, minimum: int, maximum: int) -> int:
    """`value` as an int clamped to [minimum, maximum]; `default` when it is not a plain
    ASCII integer (int() also takes "٣" and " 2 "). A longer number than 18 digits is
    clamped without ever being converted (Python refuses int() past 4,300 digits)."""
    match = _INTEGER.fullmatch(value.strip() if isinstance(value, str) else "" if value is None else str(value))
    if match is None:
        return default
    sign, digits = match.groups()
    number = 10**_LONGEST if len(digits) > _LONGEST else int(digits)
    return max(minimum, min(maximum, -number if sign == "-" else number))
