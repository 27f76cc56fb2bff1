"""Logging helpers shared by the Django settings and gunicorn.conf.py."""

import logging
import re

from pythonjsonlogger.json import JsonFormatter

# Secrets that travel in URLs or headers, whatever logger writes them: a password-reset or
# account-activation link (/accounts/reset|activate/<uid>/<token>/), a private feed (/feeds/<token>.xml, /feeds/<token>/…),
# an API token (Bearer …), a secret-looking query parameter, an email address.
_SECRETS = [
    (re.compile(r"(/accounts/(?:reset|activate)/)[^/\s\"']+/[^/\s\"']+"), r"\1[redacted]/[redacted]"),
    (re.compile(r"(/feeds/)(?!\[redacted\])[^/\s\"'?#.]+"), r"\1[redacted]"),
    (re.compile(r"(\bBearer\s+)[^\s\"',;]+", re.IGNORECASE), r"\1[redacted]"),
    (
        re.compile(
            r"([?&;](?:[\w.-]*(?:token|key|secret|password|passwd|signature|sig|auth|code)[\w.-]*)=)[^&#\s\"']*", re.IGNORECASE
        ),
        r"\1[redacted]",
    ),
    (re.compile(r"(//)[^/@\s\"':]+:[^/@\s\"']+@"), r"\1[redacted]@"),  # user:password@host in a URL
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "[email]"),
]
# LogRecord attributes that are never request data.
_RECORD_ATTRS = {"name", "levelname", "pathname", "filename", "module", "funcName", "processName", "threadName", "taskName"}


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Redact tokens and addresses from a record's message and its extra string fields.

    Attached to every handler (Django's and gunicorn's, access log included), so a
    logger nobody reviewed cannot leak a reset link or a private feed token either.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter to report
            return True
        record.msg, record.args = redact(message), ()
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS and key != "msg" and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class RedactingJsonFormatter(JsonFormatter):
    """The JSON formatter, with tracebacks and stacks redacted like messages (a traceback
    can quote a URL or a header value)."""

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info) -> str:
        return redact(super().formatStack(stack_info))


class GunicornAccessFields(logging.Filter):
    """Turn a gunicorn access record into a JSON event with fields, not a formatted string.

    Gunicorn passes its request atoms as the record's args; only method, path (no
    query string), status and duration are kept: no client address, no user agent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        record.event = "http_request"
        record.method = atoms.get("m", "")
        record.path = redact(atoms.get("U", ""))
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
            record.request = f"{request.method} {redact(request.path)}"
        return True


def exception_fields(exc: BaseException) -> dict[str, str]:
    """An exception as log fields without its message (messages can quote headers,
    addresses or URLs with tokens): its type and the innermost frame it came from."""
    frame = None
    tb = exc.__traceback__
    while tb is not None:
        frame, tb = tb, tb.tb_next
    where = (
        f"{frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno} {frame.tb_frame.f_code.co_name}"
        if frame
        else ""
    )
    return {"error": type(exc).__name__, "where": where}
