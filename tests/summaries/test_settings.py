"""Summaries settings refuse combinations that would let RQ kill a summary mid-request."""

import subprocess
import sys

import pytest
from django.conf import settings


def load_settings(**env) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "x", "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        capture_output=True,
        text=True,
        env={**base, **env},
        cwd=settings.BASE_DIR,
    )


def test_defaults_keep_llm_time_below_the_job_timeout():
    worst = settings.ANTHROPIC_TIMEOUT * (settings.ANTHROPIC_MAX_RETRIES + 1) + settings.ANTHROPIC_RETRY_AFTER_MAX * settings.ANTHROPIC_MAX_RETRIES
    assert worst < settings.SUMMARIES_JOB_TIMEOUT == settings.RQ_QUEUES["summaries"]["DEFAULT_TIMEOUT"]
    assert load_settings().returncode == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ANTHROPIC_TIMEOUT": "300"}, "SUMMARIES_JOB_TIMEOUT"),
        ({"SUMMARY_DEADLINE_SECONDS": "900"}, "SUMMARY_DEADLINE_SECONDS"),
        ({"ANTHROPIC_API_KEY": "k", "ANTHROPIC_MODEL": "gpt-unknown"}, "LLM_PRICES_USD_PER_MTOK"),
    ],
)
def test_unsafe_settings_fail_at_start_naming_the_variable(env, message):
    completed = load_settings(**env)

    assert completed.returncode != 0
    assert message in completed.stderr


def test_extractive_is_the_default_without_an_api_key_and_anthropic_with_one():
    code = "import django; django.setup(); from django.conf import settings; print(settings.SUMMARY_PROVIDER)"
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "x", "DJANGO_SETTINGS_MODULE": "config.settings"}
    outputs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**base, **extra}, cwd=settings.BASE_DIR).stdout.strip()
        for extra in ({}, {"ANTHROPIC_API_KEY": "sk-x"})
    ]

    assert outputs == ["extractive", "anthropic"]
