"""Run real RQ workers (`manage.py rqworker`) as subprocesses against the test database and Redis."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The DATABASE_URL of the database the tests are using right now (pytest-django's test_… one)."""
    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{os.path.abspath(conf['NAME'])}"
    user = conf.get("USER") or "postgres"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{conf.get('HOST') or '127.0.0.1'}:{conf.get('PORT') or 5432}/{conf['NAME']}"


def worker_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "FETCH_ALLOW_PRIVATE_NETWORKS": "1" if settings.FETCH_ALLOW_PRIVATE_NETWORKS else "0",
        "HF_HUB_OFFLINE": "1",
        "WHISPER_THREADS": "1",  # the test machine is shared
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TEST_DATABASE_NAME", None)
    env.update(extra)
    return env


def procfile_command(process: str) -> list[str]:
    """The Procfile's command line for `process`, run with this interpreter."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            words = shlex.split(command)
            if words[:1] == ["exec"]:  # the Procfile execs so SIGTERM reaches the process, not a shell
                words = words[1:]
            assert words[:2] == ["python", "manage.py"], words
            return [sys.executable, str(ROOT / "manage.py"), *words[2:]]
    raise AssertionError(f"no {process!r} process in the Procfile")


def worker_command(*queues: str, whisper: bool = False, burst: bool = True) -> list[str]:
    """The Procfile's `whisper` or `worker` line, restricted to `queues` when given."""
    cmd = procfile_command("whisper" if whisper else "worker")
    if queues:
        words, options = cmd[3:], []
        for i, word in enumerate(words):
            if word.startswith("--"):
                options += [word, words[i + 1]]  # every option in the Procfile takes a value
        cmd = [*cmd[:3], *queues, *options]
    if burst:
        cmd.append("--burst")
    return cmd


def start_worker(
    redis_url: str, *queues: str, whisper: bool = False, burst: bool = True, log: Path | None = None
) -> subprocess.Popen:
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen(
        worker_command(*queues, whisper=whisper, burst=burst),
        cwd=ROOT,
        env=worker_env(redis_url),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run_worker(redis_url: str, *queues: str, whisper: bool = False, timeout: float = 180) -> None:
    """Run a burst worker until its queues are empty; fail loudly if it does not exit cleanly."""
    result = subprocess.run(
        worker_command(*queues, whisper=whisper, burst=True),
        cwd=ROOT,
        env=worker_env(redis_url),
        capture_output=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"worker exited {result.returncode}: {result.stderr.decode()[-3000:]}")


def wait_for(predicate, *, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
