"""Secrets never reach a log line (issue 17, defect 2): reset links and private-feed tokens
in gunicorn's access log and in django.request, Bearer tokens, and the email backend
that must not print messages outside DJANGO_DEBUG."""

import json
import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from config.logging import RedactSecrets, redact
from tests.support.procfile import free_port
from tests.support.production import ROOT, manage, production_env

RESET_PATH = "/accounts/reset/MQ/cd1x2y-0123456789abcdef0123456789abcdef/"
FEED_PATH = "/feeds/Zq9privatefeedtoken42.xml"


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        (f"GET {RESET_PATH}", "0123456789abcdef"),
        ("GET /accounts/activate/MQ/cd1x2y-activationtoken99/", "activationtoken99"),
        (f"Not Found: {FEED_PATH}", "Zq9privatefeedtoken42"),
        ("/feeds/Zq9privatefeedtoken42/podcasts/3.xml", "Zq9privatefeedtoken42"),
        ("Authorization: Bearer cn_live_abcdef123456", "cn_live_abcdef123456"),
        ("HTTP 404 from http://host/feed.xml?token=SECRET123&x=1", "SECRET123"),
        ("fetching https://bob:hunter2@host/feed.xml", "hunter2"),
        ("sent to victim@example.com", "victim@example.com"),
    ],
)
def test_redact_removes_tokens_and_addresses(text, leak):
    assert leak not in redact(text)
    assert "[redacted]" in redact(text) or "[email]" in redact(text)


def test_the_filter_redacts_message_arguments_and_extra_fields():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "reset %s", (RESET_PATH,), None)
    record.path = FEED_PATH

    RedactSecrets().filter(record)

    assert "0123456789abcdef" not in record.getMessage()
    assert record.path == "/feeds/[redacted].xml"


def test_gunicorn_access_and_error_logs_carry_no_reset_or_feed_token(tmp_path):
    """A real gunicorn with gunicorn.conf.py; the database has no tables, so the reset view
    also fails with a 500 that django.request logs with its path."""
    port = free_port()
    env = production_env(
        PORT=str(port),
        WEB_CONCURRENCY="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        STATIC_MANIFEST="0",
    )
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        statuses = []
        deadline = time.monotonic() + 60
        for path in (RESET_PATH, FEED_PATH):
            while True:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer cn_live_abcdef123456"}
                )
                try:
                    statuses.append(urllib.request.urlopen(request, timeout=10).status)
                    break
                except urllib.error.HTTPError as exc:
                    statuses.append(exc.code)
                    break
                except (ConnectionError, urllib.error.URLError):
                    assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                    time.sleep(0.2)
        time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.seek(0)
    lines = [line for line in log.read().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]

    access = [r for r in records if r.get("event") == "http_request"]
    assert [r["path"] for r in access] == ["/accounts/reset/[redacted]/[redacted]/", "/feeds/[redacted].xml"]
    assert statuses[0] == 500 and statuses[1] == 404
    assert any(r["logger"] == "django.request" and "/accounts/reset/[redacted]" in r["message"] for r in records)
    text = "\n".join(lines)
    for secret in ("0123456789abcdef", "Zq9privatefeedtoken42", "cn_live_abcdef123456"):
        assert secret not in text


def test_outside_debug_an_unconfigured_email_is_not_printed():
    """Without EMAIL_URL (and without DJANGO_DEBUG) nothing prints the message: one JSON event, no address, no link."""
    code = (
        "from django.core.mail import send_mail; "
        f"send_mail('Password reset', 'https://castnotes.example.org{RESET_PATH}', None, ['victim@example.com'])"
    )

    result = manage("shell", "--no-imports", "-c", code, env=production_env())

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "victim@example.com" not in output and "0123456789abcdef" not in output
    (line,) = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert line["event"] == "email_not_sent"


def test_with_debug_the_console_backend_stays_the_default():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_BACKEND)",
        env=production_env(DJANGO_DEBUG="1"),
    )

    assert result.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


@pytest.mark.parametrize(("email_url", "warns"), [("", True), ("consolemail://", True), ("smtp://mail.example.org:587", False)])
def test_deploy_check_warns_when_email_would_not_reach_a_mail_server(email_url, warns):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(EMAIL_URL=email_url))

    assert ("castnotes.W001" in result.stderr + result.stdout) is warns
    assert (result.returncode != 0) is warns, result.stdout + result.stderr
