import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def test_deploy_check_passes_with_production_settings():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"))
    }
    env.update(
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-for-the-check-0123456789abcdef",
        DJANGO_ALLOWED_HOSTS="castnotes.example.org",
        EMAIL_URL="smtp://mail.example.org:587",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_fails_at_start_naming_the_variable():
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_testserver_is_no_allowed_host_outside_tests():
    """Issue 17, defect 7: a Host: testserver request (a reset link to https://testserver/…)
    is refused by a real process; only Django's test set-up adds the name."""
    from tests.support.production import manage, production_env

    code = (
        "from django.conf import settings; from django.test import Client; "
        "print(settings.ALLOWED_HOSTS); "
        "print(Client(HTTP_HOST='testserver').get('/accounts/password_reset/').status_code)"
    )

    result = manage(
        "shell", "--no-imports", "-c", code, env=production_env(DJANGO_ALLOWED_HOSTS="", DJANGO_SECURE_SSL_REDIRECT="0")
    )

    hosts, status = result.stdout.strip().splitlines()[-2:]
    assert hosts == "['localhost', '127.0.0.1', '[::1]']", result.stdout + result.stderr
    assert status == "400"


@pytest.mark.django_db
def test_the_test_client_still_reaches_pages_as_testserver(client):
    assert client.get("/healthz").status_code == 200


# --- issue 17 risks: defaults ---------------------------------------------------------------


def _gunicorn_bind(monkeypatch, **env) -> str:
    import runpy

    for key in ("WEB_HOST", "PORT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["bind"]


def test_gunicorn_binds_loopback_unless_told_otherwise(monkeypatch):
    assert _gunicorn_bind(monkeypatch) == "127.0.0.1:8000"
    assert _gunicorn_bind(monkeypatch, WEB_HOST="0.0.0.0", PORT="9000") == "0.0.0.0:9000"
    assert _gunicorn_bind(monkeypatch, WEB_HOST="::") == "[::]:8000"


def test_hsts_preload_is_opt_in_and_the_deploy_check_stays_clean_without_it():
    from tests.support.production import manage, production_env

    code = "from django.conf import settings as s; print(s.SECURE_HSTS_PRELOAD, s.SECURE_HSTS_SECONDS)"
    default = manage("shell", "--no-imports", "-c", code, env=production_env())
    opted_in = manage("shell", "--no-imports", "-c", code, env=production_env(DJANGO_HSTS_PRELOAD="1"))
    check = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_env(EMAIL_URL="smtp://mail.example.org:587", DJANGO_HSTS_PRELOAD="1"),
    )

    assert default.stdout.split()[-2:] == ["False", "31536000"]
    assert opted_in.stdout.split()[-2:] == ["True", "31536000"]
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.django_db
def test_healthz_answers_plain_http_probes_while_pages_redirect_to_https(settings, client):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

    probe = client.get("/healthz")
    page = client.get("/podcasts/")

    assert probe.status_code == 200
    assert page.status_code == 301 and page["Location"].startswith("https://")


def test_production_settings_exempt_healthz_from_the_ssl_redirect():
    from tests.support.production import manage, production_env

    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_REDIRECT_EXEMPT)",
        env=production_env(),
    )

    assert result.stdout.strip().splitlines()[-1] == "True ['^healthz$']"
