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
    worst = (
        settings.ANTHROPIC_TIMEOUT * (settings.ANTHROPIC_MAX_RETRIES + 1)
        + settings.ANTHROPIC_RETRY_AFTER_MAX * settings.ANTHROPIC_MAX_RETRIES
    )
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
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={**base, **extra}, cwd=settings.BASE_DIR
        ).stdout.strip()
        for extra in ({}, {"ANTHROPIC_API_KEY": "sk-x"})
    ]

    assert outputs == ["extractive", "anthropic"]


OPENAI_LOCAL = {
    "SUMMARY_PROVIDER": "openai",
    "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1",
    "OPENAI_MODEL": "llama3.2:3b",
    "OPENAI_CONTEXT_TOKENS": "8192",
}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("OPENAI_BASE_URL", "SUMMARY_PROVIDER=openai needs OPENAI_BASE_URL"),
        ("OPENAI_MODEL", "SUMMARY_PROVIDER=openai needs OPENAI_MODEL"),
        ("OPENAI_CONTEXT_TOKENS", "SUMMARY_PROVIDER=openai needs OPENAI_CONTEXT_TOKENS"),
    ],
)
def test_openai_provider_without_a_required_setting_fails_at_start_naming_it(missing, message):
    env = {k: v for k, v in OPENAI_LOCAL.items() if k != missing}

    completed = load_settings(**env)

    assert completed.returncode != 0
    assert message in completed.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"OPENAI_TIMEOUT": "300"}, "SUMMARIES_JOB_TIMEOUT"),
        ({"OPENAI_MAX_OUTPUT_TOKENS": "5000"}, "OPENAI_MAX_OUTPUT_TOKENS"),
        ({"OPENAI_BASE_URL": "https://api.example.com/v1", "OPENAI_MODEL": "gpt-unpriced"}, "LLM_PRICES_USD_PER_MTOK"),
    ],
)
def test_unsafe_openai_settings_fail_at_start(extra, message):
    completed = load_settings(**{**OPENAI_LOCAL, **extra})

    assert completed.returncode != 0
    assert message in completed.stderr


def test_a_model_on_a_local_server_costs_nothing_and_the_reply_gets_a_quarter_of_the_context():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.LLM_PRICES_USD_PER_MTOK['llama3.2:3b'], s.OPENAI_MAX_OUTPUT_TOKENS, s.OPENAI_API_KEY == '')"
    )
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "x", "DJANGO_SETTINGS_MODULE": "config.settings"}
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**base, **OPENAI_LOCAL}, cwd=settings.BASE_DIR
    )

    assert completed.stdout.split("\n")[0] == "{'input': 0.0, 'output': 0.0} 2048 True"
