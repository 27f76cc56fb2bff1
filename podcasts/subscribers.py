"""Services for the subscriber side: accounts, profiles, subscriptions.

Kept apart from podcasts/services.py (feed ingestion) so the two grow without
colliding; the rules are the same: every write goes through a function here.
Feed submissions are `podcasts.services.podcast_submit` (it owns the URL checks).
"""

import logging

from confusable_homoglyphs import confusables
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from podcasts.models import Podcast, Profile, Subscription

logger = logging.getLogger("castnotes.subscribers")


def profile_get_or_create(*, user: AbstractBaseUser) -> Profile:
    """Return the user's Profile, creating a free one the first time.

    Called wherever the plan matters, so users made by `createsuperuser` or the
    admin get a profile without signals.
    """
    try:
        return user.profile
    except Profile.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            profile = Profile.objects.create(user=user)
    except IntegrityError:  # a concurrent request created it first
        profile = Profile.objects.get(user=user)
    user.profile = profile
    return profile


def user_is_premium(*, user: AbstractBaseUser) -> bool:
    if not user.is_authenticated:
        return False
    return profile_get_or_create(user=user).plan == Profile.Plan.PREMIUM


def user_may_regenerate(*, user: AbstractBaseUser) -> bool:
    """Premium subscribers and staff may ask for a regeneration (DESIGN.md "Regeneration")."""
    return bool(user.is_authenticated and (user.is_staff or user_is_premium(user=user)))


@transaction.atomic
def username_skeleton(username: str) -> str:
    """`username` with every letter that has an ASCII look-alike (Unicode's confusables
    data) replaced by it, case-folded: "Admіn" (Cyrillic і) → "admin"."""
    out = []
    for char in username:
        if char.isascii():
            out.append(char)
            continue
        found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin", "common"]) or []
        ascii_glyphs = [g["c"] for entry in found for g in entry["homoglyphs"] if g["c"].isascii()]
        out.append(ascii_glyphs[0] if ascii_glyphs else char)
    return "".join(out).casefold()


def user_sign_up(*, username: str, email: str, password: str) -> AbstractBaseUser | None:
    """Create an inactive subscriber account with a free profile and email it a link that
    activates it; None (and a notice to that address) when the address already has an account.

    Either way the caller gives the same answer, so the sign-up form never tells who has
    an account: only the owner of the address learns it, by email.
    """
    User = get_user_model()
    existing = User.objects.filter(email__iexact=email).order_by("pk").first()
    if existing is not None:
        _send("registration/signup_exists_email.txt", to=existing.email, context={"user": existing})
        logger.info("user_sign_up_existing_email", extra={"event": "user_sign_up_existing_email", "user_id": existing.pk})
        return None
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password, is_active=False)
        Profile.objects.create(user=user)
    link = settings.SITE_URL.rstrip("/") + reverse(
        "podcasts:signup_activate", args=[urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)]
    )
    _send("registration/signup_activate_email.txt", to=user.email, context={"user": user, "link": link})
    logger.info("user_signed_up", extra={"event": "user_signed_up", "user_id": user.pk})
    return user


def user_activate(*, uidb64: str, token: str) -> AbstractBaseUser | None:
    """The account of a valid activation link, now active; None for a bad or used link
    (logging in changes last_login, which the token is bound to)."""
    User = get_user_model()
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None
    if not default_token_generator.check_token(user, token):
        return None
    if not user.is_active:
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
        logger.info("user_activated", extra={"event": "user_activated", "user_id": user.pk})
    return user


def _send(template: str, *, to: str, context: dict) -> None:
    subject, _, body = render_to_string(template, {**context, "site_url": settings.SITE_URL.rstrip("/")}).partition("\n\n")
    send_mail(subject.strip(), body, None, [to], fail_silently=False)


def subscription_create(*, user: AbstractBaseUser, podcast: Podcast, notify_new_episodes: bool = False) -> Subscription:
    """Subscribe `user` to `podcast`; subscribing twice keeps one row (and updates the opt-in)."""
    subscription, created = Subscription.objects.get_or_create(
        user=user, podcast=podcast, defaults={"notify_new_episodes": notify_new_episodes}
    )
    if not created and subscription.notify_new_episodes != notify_new_episodes:
        Subscription.objects.filter(pk=subscription.pk).update(notify_new_episodes=notify_new_episodes)
        subscription.notify_new_episodes = notify_new_episodes
    if created:
        logger.info(
            "subscription_created",
            extra={"event": "subscription_created", "user_id": user.pk, "podcast_id": podcast.pk},
        )
    return subscription


def subscription_delete(*, user: AbstractBaseUser, podcast: Podcast) -> bool:
    """Unsubscribe; return False when there was nothing to delete."""
    deleted, _ = Subscription.objects.filter(user=user, podcast=podcast).delete()
    if deleted:
        logger.info(
            "subscription_deleted",
            extra={"event": "subscription_deleted", "user_id": user.pk, "podcast_id": podcast.pk},
        )
    return bool(deleted)
