"""Run manage.py or gunicorn as production would (DJANGO_DEBUG off), in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra: str) -> dict[str, str]:
    """The test process's environment minus every Django/database/Redis/email setting, plus
    a production secret key and host; `extra` adds or overrides (an empty value removes)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "STATIC_MANIFEST", "PYTEST_"))
    }
    env.update(
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-for-the-check-0123456789abcdef",
        DJANGO_ALLOWED_HOSTS="castnotes.example.org",
    )
    for key, value in extra.items():
        if value == "":
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
