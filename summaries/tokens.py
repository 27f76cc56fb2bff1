"""Secrets that let a listener's own apps in: private feed tokens and personal API tokens.

Every write to FeedToken and ApiToken goes through a function here. No function
logs a token or any part of it: events carry ids only.
"""

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from summaries.models import ApiToken, FeedToken

logger = logging.getLogger("castnotes.tokens")

# Feed token: 12 hex characters to find the row, 32 (128 random bits) to compare.
FEED_SELECTOR_CHARS = 12
FEED_VERIFIER_CHARS = 32
FEED_TOKEN_PATTERN = rf"[0-9a-f]{{{FEED_SELECTOR_CHARS + FEED_VERIFIER_CHARS}}}"

API_TOKEN_PREFIX = "cn_"
_API_TOKEN_RE = re.compile(r"^cn_([0-9a-f]{12})_([0-9a-f]{64})$")
# last_used_at is written at most this often per token, not on every request.
API_TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


# --- Feed tokens ----------------------------------------------------------------------


def _new_feed_token_values() -> dict[str, str]:
    return {
        "selector": secrets.token_hex(FEED_SELECTOR_CHARS // 2),
        "verifier": secrets.token_hex(FEED_VERIFIER_CHARS // 2),
    }


def feed_token_get_or_create(*, user: AbstractBaseUser) -> FeedToken:
    """The user's feed token, made the first time the account page asks for it."""
    existing = FeedToken.objects.filter(user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            token = FeedToken.objects.create(user=user, **_new_feed_token_values())
    except IntegrityError:  # a concurrent request made it first
        return FeedToken.objects.get(user=user)
    logger.info("feed_token_created", extra={"event": "feed_token_created", "user_id": user.pk})
    return token


def feed_token_rotate(*, user: AbstractBaseUser) -> FeedToken:
    """Replace the user's feed token: every old feed URL is a 404 from now on."""
    with transaction.atomic():
        token, created = FeedToken.objects.select_for_update().get_or_create(user=user, defaults=_new_feed_token_values())
        if not created:
            for field, value in _new_feed_token_values().items():
                setattr(token, field, value)
            token.created_at = timezone.now()
            token.save(update_fields=["selector", "verifier", "created_at"])
    logger.info("feed_token_rotated", extra={"event": "feed_token_rotated", "user_id": user.pk})
    return token


def feed_token_user(*, token: str) -> AbstractBaseUser | None:
    """The active user whose feed token this is, else None (unknown, rotated or malformed)."""
    if not isinstance(token, str) or not re.fullmatch(FEED_TOKEN_PATTERN, token):
        return None
    selector, verifier = token[:FEED_SELECTOR_CHARS], token[FEED_SELECTOR_CHARS:]
    row = FeedToken.objects.select_related("user").filter(selector=selector).first()
    if row is None or not hmac.compare_digest(row.verifier, verifier) or not row.user.is_active:
        return None
    return row.user


# --- API tokens -----------------------------------------------------------------------


def _api_token_hash(*, salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


@dataclass(frozen=True)
class CreatedApiToken:
    """A new token and its plaintext, which exists only here: show it once, store nothing of it."""

    token: ApiToken
    plaintext: str


def api_token_create(*, user: AbstractBaseUser, name: str = "", read_only: bool = False) -> CreatedApiToken:
    """Make a personal API token; the plaintext is returned once and never stored."""
    secret = secrets.token_hex(32)
    salt = secrets.token_hex(16)
    for _ in range(3):  # a 48-bit prefix collision is all but impossible; retry anyway
        prefix = secrets.token_hex(6)
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name.strip()[:100],
                    prefix=prefix,
                    salt=salt,
                    key_hash=_api_token_hash(salt=salt, secret=secret),
                    read_only=read_only,
                )
            break
        except IntegrityError:
            continue
    else:
        raise RuntimeError("Could not make a unique API token prefix.")
    logger.info(
        "api_token_created",
        extra={"event": "api_token_created", "user_id": user.pk, "token_id": token.pk, "read_only": read_only},
    )
    return CreatedApiToken(token=token, plaintext=f"{API_TOKEN_PREFIX}{prefix}_{secret}")


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs or already revoked."""
    revoked = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        logger.info("api_token_revoked", extra={"event": "api_token_revoked", "user_id": user.pk, "token_id": token_id})
    return bool(revoked)


def api_token_authenticate(*, plaintext: str) -> ApiToken | None:
    """The active token (with its user) this plaintext is, else None; records the last use."""
    match = _API_TOKEN_RE.match(plaintext or "")
    if match is None:
        return None
    prefix, secret = match.groups()
    token = ApiToken.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
    if token is None:
        return None
    if not hmac.compare_digest(token.key_hash, _api_token_hash(salt=token.salt, secret=secret)):
        return None
    if not token.user.is_active:
        return None
    _api_token_touch(token=token)
    return token


def _api_token_touch(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < API_TOKEN_TOUCH_INTERVAL:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
