"""Logging helpers shared by the Django settings and gunicorn.conf.py."""

import logging


class GunicornAccessFields(logging.Filter):
    """Turn a gunicorn access record into a JSON event with fields, not a formatted string.

    Gunicorn passes its request atoms as the record's args; only method, path (no
    query string), status and duration are kept: no client address, no user agent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        record.event = "http_request"
        record.method = atoms.get("m", "")
        record.path = atoms.get("U", "")
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
    terms, tokens, addresses): keep only the method and the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path"):
            record.request = f"{request.method} {request.path}"
        return True


def exception_fields(exc: BaseException) -> dict[str, str]:
    """An exception as log fields without its message (messages can quote headers,
    addresses or URLs with tokens): its type and the innermost frame it came from."""
    frame = None
    tb = exc.__traceback__
    while tb is not None:
        frame, tb = tb, tb.tb_next
    where = f"{frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno} {frame.tb_frame.f_code.co_name}" if frame else ""
    return {"error": type(exc).__name__, "where": where}
