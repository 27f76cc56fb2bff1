import logging
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger("castnotes.health")


@lru_cache(maxsize=4)
def _redis_client(url: str):
    """One pooled client per process: a new client per probe would connect (and
    announce itself to Redis) on every call of a probe that runs every few seconds."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def healthz(request):
    """200 when the database (and Redis, when configured) answer; 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means unhealthy; report its kind only
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.REDIS_URL:
        try:
            _redis_client(settings.REDIS_URL).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    if not healthy:
        logger.warning("healthz_failed", extra={"event": "healthz_failed", "checks": checks})
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
