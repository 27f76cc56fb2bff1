"""The one way code hands work to RQ.

State lives in the database and Redis only carries ids, so an enqueue that fails
(Redis down, crash between commit and enqueue) loses nothing: the row stays in
its state and `manage.py sweep` enqueues it later. Without REDIS_URL (the
embedded default) the job function runs synchronously in this process.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

logger = logging.getLogger("castnotes.queues")


def is_async() -> bool:
    return bool(settings.REDIS_URL)


def enqueue(queue_name: str, func: Callable[..., Any], *ids: int | str, job_timeout: int | None = None) -> bool:
    """Run `func(*ids)` on `queue_name`; return False when the job could not be handed over."""
    if queue_name not in settings.QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue_name!r}")
    if not is_async():
        func(*ids)
        return True
    import django_rq
    from redis.exceptions import RedisError

    try:
        queue = django_rq.get_queue(queue_name)
        queue.enqueue(func, *ids, job_timeout=job_timeout)
    except RedisError as exc:
        logger.warning(
            "enqueue_failed",
            extra={"event": "enqueue_failed", "queue": queue_name, "job": func.__name__, "ids": list(ids), "error": type(exc).__name__},
        )
        return False
    return True


def enqueue_on_commit(queue_name: str, func: Callable[..., Any], *ids: int | str, job_timeout: int | None = None) -> None:
    """Enqueue once the current transaction commits (immediately outside one)."""
    transaction.on_commit(lambda: enqueue(queue_name, func, *ids, job_timeout=job_timeout))
