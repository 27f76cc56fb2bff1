"""Gunicorn settings read from the working directory (the Procfile's `web` process).

Gunicorn's own error and access logs are JSON lines like the rest of Castnotes;
an access line carries method, path (never the query string), status and duration.
"""

import multiprocessing
import os

# Loopback unless told otherwise: behind a reverse proxy on the same host nothing else should
# reach gunicorn. A container or a proxy on another host sets WEB_HOST=0.0.0.0 (or an address).
_host = os.environ.get("WEB_HOST") or "127.0.0.1"
bind = f"[{_host}]:{os.environ.get('PORT', '8000')}" if ":" in _host else f"{_host}:{os.environ.get('PORT', '8000')}"
# Pages are CPU-bound (templates and queries): one single-threaded process per
# request in flight, 2 × cores + 1 as gunicorn suggests. On 2 cores this measured
# lower latency than 2 processes × 2 threads (bench/web.py, docs/web.md).
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)
accesslog = "-"
errorlog = "-"
# Path only (%(U)s): query strings may carry tokens or addresses.
access_log_format = "%(m)s %(U)s %(s)s"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "access_fields": {"()": "config.logging.GunicornAccessFields"},
        # Paths such as /accounts/reset/<uid>/<token>/ and /feeds/<token>.xml carry secrets.
        "redact_secrets": {"()": "config.logging.RedactSecrets"},
    },
    "formatters": {
        "json": {
            "()": "config.logging.RedactingJsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact_secrets"],
            "stream": "ext://sys.stderr",
        },
        "access_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["access_fields", "redact_secrets"],
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["access_console"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["error_console"], "level": "INFO"},
}


def post_worker_init(worker):
    """Move everything loaded at start-up (Django, the URLconf, the models) out of the
    garbage collector's sight: a full collection then scans a request's objects only,
    instead of pausing a request now and then to walk the whole application."""
    import gc

    gc.collect()
    gc.freeze()
