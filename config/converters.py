"""URL converters. `id`: a database id, at most 18 digits (below 2**63, what a
BigAutoField holds); anything longer is no URL at all (404) instead of an integer too
large for SQLite's driver (an OverflowError, a 500)."""


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))
