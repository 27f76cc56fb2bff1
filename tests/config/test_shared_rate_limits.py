"""Without Redis, rate limits hold across gunicorn's worker processes (issue 17, defect 6):
the counters live in a database table that `migrate` creates, not in each process's memory."""

import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db import connection

from tests.support import workers
from tests.support.procfile import free_port
from tests.support.production import ROOT, manage, production_env


def _wait_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30)
            return
        except urllib.error.HTTPError:
            return
        except OSError:  # refused while binding, or a slow first answer on a busy machine
            assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
            time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_wrong_passwords_over_the_limit_are_refused_by_every_worker_without_redis(tmp_path):
    """40 wrong passwords at 10 per window against 3 workers: before, each process counted its own
    (about 20 accepted); now exactly 10 get the form back and 30 get 429."""
    port = free_port()
    env = production_env(
        PORT=str(port),
        WEB_CONCURRENCY="3",
        DATABASE_URL=workers.test_database_url(),
        REDIS_URL="",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        STATIC_MANIFEST="0",
        RATELIMIT_LOGIN="10/d",  # a day: the 40 requests never straddle a counting window
    )
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    statuses = []
    try:
        _wait_up(port, server)
        for _ in range(40):
            # A fresh client each time: new connections spread over the workers. Production
            # cookies are Secure, so the CSRF cookie is sent back by hand over plain http.
            form = urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30)
            cookie = re.search(r"csrftoken=([^;]+)", form.headers["Set-Cookie"]).group(1)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.read().decode()).group(1)
            data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "walter", "password": "wrong"}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/accounts/login/", data=data, headers={"Cookie": f"csrftoken={cookie}"}
            )
            try:
                statuses.append(urllib.request.urlopen(request, timeout=30).status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 30, statuses


def test_migrate_creates_the_rate_limit_cache_table(tmp_path):
    """The demo and a first deploy run `migrate`; nothing else must be remembered."""
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}", DJANGO_DEBUG="1")

    migrated = manage("migrate", "--noinput", "-v0", env=env, timeout=300)
    check = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.core.cache import caches; c = caches['ratelimit']; c.set('k', 1); print(c.incr('k'))",
        env=env,
    )

    assert migrated.returncode == 0, migrated.stderr
    assert check.stdout.strip().splitlines()[-1] == "2", check.stdout + check.stderr


def test_the_rate_limit_cache_is_the_database_without_redis_and_redis_with_it(settings):
    assert connection.vendor in ("postgresql", "sqlite")
    without = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.CACHES['ratelimit']['BACKEND'], s.RATELIMIT_USE_CACHE)",
        env=production_env(),
    )
    with_redis = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.CACHES['ratelimit']['BACKEND'])",
        env=production_env(REDIS_URL="redis://127.0.0.1:6379/5"),
    )

    assert without.stdout.split() == ["config.cache.DatabaseCache", "ratelimit"]
    assert with_redis.stdout.strip() == "config.cache.RedisCache"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_database_cache_increments_are_atomic_under_concurrency():
    """Django's DatabaseCache.incr reads then writes; config.cache.DatabaseCache locks the row."""
    from django.core.cache import caches

    from tests.support.concurrency import raised, run_at_once

    counter = caches["ratelimit"]
    counter.set("hits", 0)

    outcomes = run_at_once(*[lambda: counter.incr("hits") for _ in range(12)])

    assert raised(outcomes) == []
    assert sorted(outcomes) == list(range(1, 13))
    assert counter.get("hits") == 12
