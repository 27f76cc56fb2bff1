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
def redis_queues(settings, redis_url):
    """Jobs go to a Redis database of the test's own and wait there (no worker unless the test starts one)."""
    settings.REDIS_URL = redis_url
    settings.RQ_QUEUES = {name: {**conf, "URL": redis_url} for name, conf in settings.RQ_QUEUES.items()}
    return redis_url


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


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A SQLite test database lives in a file (not memory), so RQ worker subprocesses can open it."""
    import tempfile

    from django.db import connections

    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3") and not (settings_dict.get("TEST") or {}).get("NAME"):
        settings_dict.setdefault("TEST", {})["NAME"] = os.path.join(tempfile.mkdtemp(prefix="castnotes-db-"), "test.sqlite3")


@pytest.fixture
def trusted_server(settings):
    """A server on 127.0.0.2, trusted by name; every other private address stays blocked."""
    from tests.support.httpserver import LoopbackServer

    settings.FETCH_ALLOW_PRIVATE_NETWORKS = False
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    server = LoopbackServer(host="127.0.0.2").start()
    yield server
    server.stop()


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls the tests
    # make beside it are ordinary blocking calls, which Django would otherwise refuse.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """PBKDF2's full work factor costs ~1 s per user on this machine; no test needs its strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache: each test starts with none (the embedded cache is per process)."""
    from django.core.cache import cache

    cache.clear()
    yield
