"""Rate limits on login, sign-up, feed submission and Regenerate: over the limit → 429 page."""

import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
import redis

from podcasts.models import Podcast, Profile
from summaries.models import Delivery
from tests.factories import csrf_client, csrf_post, make_podcast, make_summarized_episode, make_user

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


def assert_rate_limited(response) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["Retry-After"] == "60"
    page = response.content.decode()
    assert "Too many attempts" in page and "<html" in page  # a readable page on the site's layout


def test_login_attempts_over_the_limit_get_429_even_with_the_right_password(settings):
    settings.RATELIMIT_LOGIN = "3/m"
    user = make_user("walter")
    client = csrf_client()

    wrong = [csrf_post(client, "/accounts/login/", {"username": "walter", "password": f"guess-{n}"}) for n in range(3)]
    blocked = csrf_post(client, "/accounts/login/", {"username": "walter", "password": "pw-castnotes-123"})

    assert [r.status_code for r in wrong] == [HTTPStatus.OK] * 3  # the form again, with its error
    assert_rate_limited(blocked)
    assert "_auth_user_id" not in client.session
    assert client.get("/accounts/login/").status_code == HTTPStatus.OK  # reading the form is never limited
    assert user.is_active


def test_login_limit_counts_per_client_address(settings):
    settings.RATELIMIT_LOGIN = "1/m"
    make_user("walter")
    first, second = csrf_client(), csrf_client()
    csrf_post(first, "/accounts/login/", {"username": "walter", "password": "nope"})

    other_address = csrf_post(
        second, "/accounts/login/", {"username": "walter", "password": "pw-castnotes-123"}, REMOTE_ADDR="192.0.2.7"
    )
    same_address = csrf_post(second, "/accounts/login/", {"username": "walter", "password": "pw-castnotes-123"})

    assert other_address.status_code == HTTPStatus.FOUND
    assert_rate_limited(same_address)


def test_sign_ups_over_the_limit_get_429_and_create_no_account(settings, django_user_model):
    settings.RATELIMIT_SIGNUP = "2/h"

    def sign_up(n: int):  # a fresh browser each time, from the same address
        return csrf_post(
            csrf_client(),
            "/accounts/signup/",
            {
                "username": f"new{n}",
                "email": f"new{n}@example.com",
                "password1": "a-long-pass-phrase-9",
                "password2": "a-long-pass-phrase-9",
            },
        )

    allowed = [sign_up(n).status_code for n in range(2)]
    blocked = sign_up(2)

    assert allowed == [HTTPStatus.SEE_OTHER] * 2
    assert_rate_limited(blocked)
    assert not django_user_model.objects.filter(username="new2").exists()


def test_feed_submissions_over_the_limit_get_429_per_user(settings):
    settings.RATELIMIT_FEED_SUBMIT = "2/h"
    client = csrf_client(make_user())

    allowed = [csrf_post(client, "/podcasts/submit/", {"feed_url": f"https://new.example.org/{n}.rss"}) for n in range(2)]
    blocked = csrf_post(client, "/podcasts/submit/", {"feed_url": "https://new.example.org/2.rss"})
    someone_else = csrf_post(csrf_client(make_user()), "/podcasts/submit/", {"feed_url": "https://new.example.org/3.rss"})

    assert [r.status_code for r in allowed] == [HTTPStatus.SEE_OTHER] * 2
    assert_rate_limited(blocked)
    assert not Podcast.objects.filter(feed_url="https://new.example.org/2.rss").exists()
    assert someone_else.status_code == HTTPStatus.SEE_OTHER


def test_regenerate_presses_over_the_limit_get_429_page_or_json(settings):
    settings.RATELIMIT_REGENERATE = "2/m"
    episode = make_summarized_episode(make_podcast(), summary_version="v1")  # outdated: the setting is v2
    client = csrf_client(make_user(plan=Profile.Plan.PREMIUM))

    allowed = [csrf_post(client, f"/episodes/{episode.pk}/regenerate/") for _ in range(2)]
    blocked_page = csrf_post(client, f"/episodes/{episode.pk}/regenerate/")
    blocked_json = csrf_post(client, f"/episodes/{episode.pk}/regenerate/", HTTP_ACCEPT="application/json")

    assert [r.status_code for r in allowed] == [HTTPStatus.SEE_OTHER] * 2
    assert Delivery.objects.filter(episode=episode).count() == 1  # the allowed double press made one
    assert_rate_limited(blocked_page)
    assert blocked_json.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many attempts" in blocked_json.json()["error"]


def test_with_redis_the_counters_live_in_redis_shared_by_every_process(settings, redis_url):
    redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    settings.CACHES = {"default": redis_cache, "ratelimit": redis_cache}
    settings.RATELIMIT_LOGIN = "2/m"
    make_user("walter")
    client = csrf_client()

    responses = [csrf_post(client, "/accounts/login/", {"username": "walter", "password": "nope"}) for _ in range(3)]

    assert [r.status_code for r in responses[:2]] == [HTTPStatus.OK] * 2
    assert_rate_limited(responses[2])
    assert any(b"rl:" in key for key in redis.Redis.from_url(redis_url).keys("*"))


def test_deploy_check_passes_with_production_settings_and_redis(redis_url):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"))
    }
    env.update(
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-for-the-check-0123456789abcdef",
        DJANGO_ALLOWED_HOSTS="castnotes.example.org",
        REDIS_URL=redis_url,
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


# --- password reset (issue 17, defect 3) ------------------------------------------------------


def test_password_resets_for_one_address_stop_at_the_limit_from_any_client(settings, mailoutbox):
    """16 POSTs in a second once sent 16 emails to one inbox: now the address's limit holds,
    whichever client asks and however the address is spelled."""
    settings.RATELIMIT_PASSWORD_RESET_ADDRESS = "3/h"
    settings.RATELIMIT_PASSWORD_RESET = "100/h"
    make_user("victim", email="victim@example.com")
    spellings = ["victim@example.com", "VICTIM@example.com", " victim@Example.com "]

    responses = [
        csrf_post(csrf_client(), "/accounts/password_reset/", {"email": spellings[n % 3]}, REMOTE_ADDR=f"192.0.2.{n + 1}")
        for n in range(16)
    ]

    assert [r.status_code for r in responses[:3]] == [HTTPStatus.FOUND] * 3
    for response in responses[3:]:
        assert_rate_limited(response)
    assert len(mailoutbox) == 3


def test_password_resets_from_one_client_stop_at_the_limit_across_addresses(settings, mailoutbox):
    settings.RATELIMIT_PASSWORD_RESET = "2/h"
    settings.RATELIMIT_PASSWORD_RESET_ADDRESS = "100/h"
    for n in range(4):
        make_user(f"user{n}x", email=f"user{n}@example.com")
    client = csrf_client()

    responses = [csrf_post(client, "/accounts/password_reset/", {"email": f"user{n}@example.com"}) for n in range(4)]

    assert [r.status_code for r in responses[:2]] == [HTTPStatus.FOUND] * 2
    assert_rate_limited(responses[2])
    assert_rate_limited(responses[3])
    assert len(mailoutbox) == 2
    assert client.get("/accounts/password_reset/").status_code == HTTPStatus.OK  # the form itself is never limited
