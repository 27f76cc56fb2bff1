"""Services for the subscriber side: accounts, profiles, subscriptions.

Kept apart from podcasts/services.py (feed ingestion) so the two grow without
colliding; the rules are the same: every write goes through a function here.
Feed submissions are `podcasts.services.podcast_submit` (it owns the URL checks).
"""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

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
def user_sign_up(*, username: str, email: str, password: str) -> AbstractBaseUser:
    """Create a subscriber account with a free profile."""
    User = get_user_model()
    user = User.objects.create_user(username=username, email=email, password=password)
    Profile.objects.create(user=user)
    logger.info("user_signed_up", extra={"event": "user_signed_up", "user_id": user.pk})
    return user


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
