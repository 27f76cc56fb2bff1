"""The one way code hands work to RQ.

State lives in the database and Redis only carries ids, so an enqueue that fails
(Redis down, crash between commit and enqueue) loses nothing: the row stays in
its state and `manage.py sweep` enqueues it later. Without REDIS_URL (the
embedded default) the job function runs synchronously in this process.

Jobs are named by their import path ("summaries.tasks.summarize_episode"), which
is what RQ stores in Redis anyway: a lower app can hand work to a higher one
without importing it, and a path already in Redis keeps working as long as the
function stays where it is.
"""

import logging

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

logger = logging.getLogger("castnotes.queues")


def is_async() -> bool:
    return bool(settings.REDIS_URL)


def enqueue(queue_name: str, job: str, *ids: int | str, job_timeout: int | None = None) -> bool:
    """Run the job at import path `job` with `ids` on `queue_name`; False when it could not be handed over."""
    if queue_name not in settings.QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue_name!r}")
    if not isinstance(job, str) or "." not in job:
        raise TypeError(f"a job is named by its import path, not {job!r}")
    if not is_async():
        import_string(job)(*ids)
        return True
    try:
        queue = django_rq.get_queue(queue_name)
        queue.enqueue(job, *ids, job_timeout=job_timeout)
    except RedisError as exc:
        logger.warning(
            "enqueue_failed",
            extra={"event": "enqueue_failed", "queue": queue_name, "job": job, "ids": list(ids), "error": type(exc).__name__},
        )
        return False
    return True


def enqueue_on_commit(queue_name: str, job: str, *ids: int | str, job_timeout: int | None = None) -> None:
    """Enqueue once the current transaction commits (immediately outside one)."""
    transaction.on_commit(lambda: enqueue(queue_name, job, *ids, job_timeout=job_timeout))


# Jobs the scheduler enqueues at every tick (queue, import path), registered by the
# app that owns each from its AppConfig.ready(); each returns at once when there is
# nothing to do.
_PERIODIC_JOBS: list[tuple[str, str]] = []


def periodic_job_register(queue_name: str, job: str) -> None:
    if queue_name not in settings.QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue_name!r}")
    if (queue_name, job) not in _PERIODIC_JOBS:
        _PERIODIC_JOBS.append((queue_name, job))


def periodic_jobs() -> list[tuple[str, str]]:
    return list(_PERIODIC_JOBS)


_WAITING = ("queued", "started", "deferred", "scheduled")


def enqueue_periodic(queue_name: str, job: str) -> bool:
    """enqueue() for a periodic job, unless its previous run is still waiting or running:
    a slow worker must not find a backlog of identical polls ahead of real work.
    (Not a correctness guard: a poll that runs twice is a no-op.)"""
    if not is_async():
        return enqueue(queue_name, job)
    job_id = "periodic-" + job.replace(".", "-")
    try:
        queue = django_rq.get_queue(queue_name)
        previous = queue.fetch_job(job_id)
        if previous is not None and previous.get_status(refresh=False) in _WAITING:
            return True
        queue.enqueue(job, job_id=job_id)
    except RedisError as exc:
        logger.warning(
            "enqueue_failed", extra={"event": "enqueue_failed", "queue": queue_name, "job": job, "error": type(exc).__name__}
        )
        return False
    return True
