import os

import pytest
from django.conf import settings


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are deselected (not skipped) when the suite runs on SQLite."""
    if settings.IS_POSTGRES:
        return
    kept, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("postgres_only") else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture
def redis_url() -> str:
    """A Redis database of its own for queue tests, emptied before and after."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def http_server(settings):
    """A loopback HTTP server; fetching from loopback is allowed while it runs."""
    from tests.support.httpserver import LoopbackServer

    settings.FETCH_ALLOW_PRIVATE_NETWORKS = True
    server = LoopbackServer().start()
    yield server
    server.stop()
