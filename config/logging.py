"""Logging helpers shared by the Django settings and gunicorn.conf.py."""

import logging
import re

# Private feed URLs carry their secret in the path (/feeds/<token>.xml): logs keep only
# "/feeds/[token]". Any long hex run counts, so a mistyped or rotated token is cut too.
_FEED_TOKEN_IN_PATH = re.compile(r"/feeds/[0-9a-fA-F]{16,}")


def redact_path(path: str) -> str:
    return _FEED_TOKEN_IN_PATH.sub("/feeds/[token]", path)


class GunicornAccessFields(logging.Filter):
    """Turn a gunicorn access record into a JSON event with fields, not a formatted string.

    Gunicorn passes its request atoms as the record's args; only method, path (no
    query string), status and duration are kept: no client address, no user agent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        record.event = "http_request"
        record.method = atoms.get("m", "")
        record.path = redact_path(atoms.get("U", ""))
        try:
            record.status = int(atoms.get("s", 0))
        except (TypeError, ValueError):
            record.status = 0
        try:
            record.duration_ms = round(int(atoms.get("D", 0)) / 1000, 1)
        except (TypeError, ValueError):
            record.duration_ms = 0.0
        record.msg, record.args = "http_request", ()
        return True


class RequestPathOnly(logging.Filter):
    """django.request attaches the request, whose repr carries the query string (search
    terms, tokens, addresses): keep only the method and the path, a feed token cut out
    of it and out of the message ("Not Found: /feeds/<token>.xml")."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path"):
            record.request = f"{request.method} {redact_path(request.path)}"
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True
