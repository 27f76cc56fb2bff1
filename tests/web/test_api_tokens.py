"""Personal API tokens and feed tokens: hashed, shown once, revocable, never logged; the account page."""

import hashlib
import io
import logging
import re
from http import HTTPStatus

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils.module_loading import import_string
from pythonjsonlogger.json import JsonFormatter

from config.logging import GunicornAccessFields, redact_path
from summaries.models import ApiToken, FeedToken
from summaries.tokens import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    feed_token_get_or_create,
    feed_token_rotate,
    feed_token_user,
)
from tests.web.factories import csrf_client, csrf_post

pytestmark = pytest.mark.django_db


def _stored_values(model) -> str:
    return " ".join(str(value) for row in model.objects.values() for value in row.values())


# --- Services ----------------------------------------------------------------------


def test_api_token_is_shown_once_and_stored_only_as_a_salted_hash(make_user):
    user = make_user()

    created = api_token_create(user=user, name="laptop")

    assert re.fullmatch(r"cn_[0-9a-f]{12}_[0-9a-f]{64}", created.plaintext)
    secret = created.plaintext.rsplit("_", 1)[1]
    stored = _stored_values(ApiToken)
    assert secret not in stored and created.plaintext not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() not in stored  # salted: not the bare hash
    assert api_token_authenticate(plaintext=created.plaintext).pk == created.token.pk


def test_two_tokens_of_one_secret_length_never_share_salt_or_hash(make_user):
    user = make_user()
    first, second = api_token_create(user=user), api_token_create(user=user)

    assert first.token.salt != second.token.salt and first.token.key_hash != second.token.key_hash


def test_revoked_tokens_and_other_users_revocations(make_user):
    owner, stranger = make_user(), make_user()
    created = api_token_create(user=owner)

    assert api_token_revoke(user=stranger, token_id=created.token.pk) is False
    assert api_token_authenticate(plaintext=created.plaintext) is not None
    assert api_token_revoke(user=owner, token_id=created.token.pk) is True
    assert api_token_authenticate(plaintext=created.plaintext) is None
    assert api_token_revoke(user=owner, token_id=created.token.pk) is False


def test_feed_tokens_have_128_random_bits_and_rotate(make_user):
    user = make_user()
    token = feed_token_get_or_create(user=user).token

    assert re.fullmatch(r"[0-9a-f]{44}", token)  # 12 to find the row + 32 hex = 128 bits compared
    assert feed_token_get_or_create(user=user).token == token
    assert feed_token_user(token=token) == user
    rotated = feed_token_rotate(user=user).token
    assert rotated != token and rotated[:12] != token[:12]
    assert feed_token_user(token=token) is None and feed_token_user(token=rotated) == user
    assert FeedToken.objects.count() == 1


def test_feed_token_lookup_refuses_malformed_and_near_miss_tokens(make_user):
    token = feed_token_get_or_create(user=make_user()).token

    for candidate in ("", token.upper(), token + "0", token[:-1], token[:12] + "0" * 32, None):
        assert feed_token_user(token=candidate) is None


# --- manage.py api_token -------------------------------------------------------------


def test_command_prints_the_token_alone_on_its_last_line(make_user):
    user = make_user("cli-user")
    out = io.StringIO()

    call_command("api_token", "create", "cli-user", "--name", "cron job", "--read-only", stdout=out)

    last_line = out.getvalue().rstrip("\n").splitlines()[-1]
    token = api_token_authenticate(plaintext=last_line)
    assert token is not None and token.user == user
    assert (token.name, token.read_only) == ("cron job", True)


def test_command_lists_and_revokes_without_showing_secrets(make_user):
    make_user("cli-user")
    created = io.StringIO()
    call_command("api_token", "create", "cli-user", stdout=created)
    plaintext = created.getvalue().splitlines()[-1]
    token = ApiToken.objects.get()

    listing = io.StringIO()
    call_command("api_token", "list", "cli-user", stdout=listing)
    call_command("api_token", "revoke", "cli-user", str(token.pk), stdout=io.StringIO())

    assert str(token.pk) in listing.getvalue() and plaintext.rsplit("_", 1)[1] not in listing.getvalue()
    assert api_token_authenticate(plaintext=plaintext) is None


def test_command_refuses_an_unknown_user_in_one_line(db):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("api_token", "create", "ghost")


# --- Logs ----------------------------------------------------------------------------


@pytest.fixture
def log_output():
    """Every log line as the console handler writes it (its filters and JSON formatter, from settings)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    config = django_settings.LOGGING
    for name in config["handlers"]["console"].get("filters", []):
        handler.addFilter(import_string(config["filters"][name]["()"])())
    formatter = config["formatters"]["json"]
    handler.setFormatter(JsonFormatter(formatter["fmt"], rename_fields=formatter["rename_fields"]))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(previous_level)


@pytest.mark.django_db(transaction=True)
def test_no_token_ever_appears_in_a_log_line(make_user, make_podcast, make_episode, subscribe, live_server, log_output, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user("logged")
    podcast = make_podcast()
    subscribe(user, podcast)
    make_episode(podcast)
    out = io.StringIO()
    call_command("api_token", "create", "logged", stdout=out)
    api_token = out.getvalue().splitlines()[-1]
    feed_token = feed_token_get_or_create(user=user).token
    secrets = [api_token, api_token.rsplit("_", 1)[1], api_token.split("_")[1], feed_token, feed_token[12:]]

    base = live_server.url
    for header in (f"Bearer {api_token}", f"Bearer {api_token[:-1]}0", f"Token {api_token}"):
        requests.get(f"{base}/api/v1/podcasts/", headers={"Authorization": header}, timeout=30)
        requests.post(f"{base}/api/v1/feeds/", headers={"Authorization": header}, json={"feed_url": "ftp://x"}, timeout=30)
    requests.get(f"{base}/api/v1/episodes/999999/", headers={"Authorization": f"Bearer {api_token}"}, timeout=30)
    assert requests.get(f"{base}/feeds/{feed_token}.xml", timeout=30).status_code == HTTPStatus.OK
    feed_token_rotate(user=user)
    assert requests.get(f"{base}/feeds/{feed_token}.xml", timeout=30).status_code == HTTPStatus.NOT_FOUND
    assert requests.get(f"{base}/feeds/{feed_token}/transcripts/1.vtt", timeout=30).status_code == HTTPStatus.NOT_FOUND

    written = log_output.getvalue()
    assert "Not Found: /feeds/[token]" in written  # the 404s were logged, without their token
    raw = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "api_token_created" in raw
    for secret in secrets:
        assert secret not in written
    for secret in secrets[:3]:
        assert secret not in raw  # the API token is not even handed to logging
    assert "Authorization" not in raw and "HTTP_AUTHORIZATION" not in raw


def test_the_gunicorn_access_log_keeps_no_feed_token():
    record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(m)s %(U)s", None, None)
    record.args = {"m": "GET", "U": "/feeds/" + "a" * 44 + "/7.xml", "s": "200", "D": "1000"}

    GunicornAccessFields().filter(record)

    assert record.path == "/feeds/[token]/7.xml"


# --- The account page ------------------------------------------------------------------


def test_account_page_shows_feed_urls_a_qr_code_and_only_my_tokens(make_user, make_podcast, subscribe):
    user, other = make_user(), make_user()
    podcast = make_podcast("Sea Power")
    subscribe(user, podcast)
    mine = api_token_create(user=user, name="mine").token
    theirs = api_token_create(user=other, name="theirs").token
    client = csrf_client(user)

    page = client.get("/accounts/")

    assert page.status_code == HTTPStatus.OK
    token = FeedToken.objects.get(user=user).token
    body = page.content.decode()
    assert f"http://testserver/feeds/{token}.xml" in body
    assert f"http://testserver/feeds/{token}/{podcast.pk}.xml" in body
    assert 'data-copy="feed-url-all"' in body and "/accounts/feed/qr.svg" in body
    assert f"cn_{mine.prefix}_" in body and theirs.name not in body and theirs.prefix not in body
    assert "no-store" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]
    qr = client.get("/accounts/feed/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and qr.content.lstrip().startswith(b"<svg")
    assert client.get(f"/accounts/feed/qr.svg?podcast={podcast.pk}").status_code == HTTPStatus.OK
    assert client.get("/accounts/feed/qr.svg?podcast=999999").status_code == HTTPStatus.NOT_FOUND


def test_account_page_needs_a_login(db):
    response = Client().get("/accounts/")

    assert response.status_code == HTTPStatus.FOUND and "/accounts/login/" in response["Location"]
    assert Client().get("/accounts/feed/qr.svg").status_code == HTTPStatus.FOUND


def test_rotating_from_the_account_page_retires_the_old_feed_url(make_user):
    user = make_user()
    client = csrf_client(user)
    client.get("/accounts/")
    old = FeedToken.objects.get(user=user).token

    response = csrf_post(client, "/accounts/feed/rotate/")

    assert response.status_code == HTTPStatus.SEE_OTHER
    new = FeedToken.objects.get(user=user).token
    assert new != old
    assert Client().get(f"/feeds/{old}.xml").status_code == HTTPStatus.NOT_FOUND
    assert new in client.get("/accounts/").content.decode()


def test_a_token_made_on_the_account_page_is_shown_once(make_user):
    user = make_user()
    client = csrf_client(user)

    created = csrf_post(client, "/accounts/api-tokens/", {"name": "phone", "read_only": "1"})

    plaintext = re.search(r'value="(cn_[0-9a-f]{12}_[0-9a-f]{64})"', created.content.decode()).group(1)
    token = api_token_authenticate(plaintext=plaintext)
    assert (token.user, token.name, token.read_only) == (user, "phone", True)
    assert plaintext not in client.get("/accounts/").content.decode()
    assert plaintext.rsplit("_", 1)[1] not in str(dict(client.session))


def test_revoking_on_the_account_page_only_reaches_my_tokens(make_user):
    user, other = make_user(), make_user()
    mine, theirs = api_token_create(user=user), api_token_create(user=other)
    client = csrf_client(user)

    refused = csrf_post(client, f"/accounts/api-tokens/{theirs.token.pk}/revoke/")
    revoked = csrf_post(client, f"/accounts/api-tokens/{mine.token.pk}/revoke/")

    assert refused.status_code == HTTPStatus.NOT_FOUND and revoked.status_code == HTTPStatus.SEE_OTHER
    assert api_token_authenticate(plaintext=theirs.plaintext) is not None
    assert api_token_authenticate(plaintext=mine.plaintext) is None


def test_account_forms_need_the_csrf_token(make_user):
    client = csrf_client(make_user())

    assert client.post("/accounts/feed/rotate/").status_code == HTTPStatus.FORBIDDEN
    assert client.post("/accounts/api-tokens/", {"name": "x"}).status_code == HTTPStatus.FORBIDDEN
    assert not ApiToken.objects.exists()


def test_a_signed_in_session_is_not_an_api_login(make_user):
    client = csrf_client(make_user())

    assert client.get("/api/v1/podcasts/").status_code == HTTPStatus.UNAUTHORIZED
    assert client.post("/api/v1/feeds/", {"feed_url": "https://feeds.example.org/x.xml"}).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    "path,logged",
    [
        ("/feeds/" + "0a" * 22 + ".xml", "/feeds/[token].xml"),
        ("/feeds/" + "0a" * 10 + "/transcripts/3.vtt", "/feeds/[token]/transcripts/3.vtt"),
        ("/api/v1/feeds/", "/api/v1/feeds/"),
        ("/podcasts/submit/", "/podcasts/submit/"),
    ],
)
def test_feed_tokens_are_cut_out_of_logged_paths(path, logged):
    assert redact_path(path) == logged
