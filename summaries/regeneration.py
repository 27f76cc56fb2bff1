"""Regeneration requests: the Regenerate button and `manage.py regenerate_summaries`.

Every rule of DESIGN.md "Regeneration" lives here so the view, the command and
tests share one implementation. The work itself (a fresh summary, the email,
delete-last) is `summaries.deliveries.delivery_run`.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from podcasts.models import Profile
from podcasts.selectors import episodes_visible
from podcasts.subscribers import profile_get_or_create, user_may_regenerate
from summaries.deliveries import delivery_enqueue
from summaries.models import Delivery, Summary
from summaries.selectors import summaries_visible, summary_current, summary_is_outdated, summary_is_regenerable

logger = logging.getLogger("castnotes.regeneration")

OPEN_STATUSES = (Delivery.Status.PENDING, Delivery.Status.PROCESSING)
SYSTEM_USERNAME = "castnotes-system"


class RegenerationRefused(Exception):
    """A request the rules refuse; `status` is the HTTP status the view answers with."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RegenerationForbidden(RegenerationRefused):
    status = 403


class EpisodeNotFound(RegenerationRefused):
    status = 404


class SummaryNotOutdated(RegenerationRefused):
    status = 400


class DailyLimitReached(RegenerationRefused):
    status = 429


def _open_regeneration(*, episode_id: int, user: AbstractBaseUser) -> Delivery | None:
    return Delivery.objects.filter(
        episode_id=episode_id, user=user, kind=Delivery.Kind.REGENERATION, status__in=OPEN_STATUSES
    ).first()


def regenerations_today(*, user: AbstractBaseUser) -> int:
    """Regenerations the user asked for in the last 24 hours (any outcome)."""
    since = timezone.now() - timedelta(days=1)
    return Delivery.objects.filter(user=user, kind=Delivery.Kind.REGENERATION, created_at__gte=since).count()


def regeneration_request(*, episode_id: int, user: AbstractBaseUser) -> Delivery:
    """Ask for a fresh summary of an episode at the current prompt version.

    Checks, in this order (the view has already required a login): the user may
    regenerate (403), the episode is visible (404), its current summary is
    outdated (400), the daily limit (429). Then the open regeneration of this
    (episode, user) is returned if there is one, else one is created and its job
    enqueued on commit. Idempotent: a double-click or a burst of concurrent POSTs
    makes one Delivery; `delivery.created` tells which call made it.
    """
    if not user_may_regenerate(user=user):
        raise RegenerationForbidden("Regeneration is for premium subscribers.")
    episode = episodes_visible().filter(pk=episode_id).first()
    if episode is None:
        raise EpisodeNotFound("No such episode.")
    current = summary_current(episode_id=episode.pk)
    if not summary_is_outdated(current):
        raise SummaryNotOutdated("This summary already uses the current prompt version.")
    if not summary_is_regenerable(current):
        raise SummaryNotOutdated("A curator featured this summary; it is kept as it is.")
    profile_get_or_create(user=user)
    with transaction.atomic():
        # The profile row lock serializes one user's requests, so the daily count is exact.
        Profile.objects.select_for_update().filter(user=user).first()
        existing = _open_regeneration(episode_id=episode.pk, user=user)
        # A repeat of the request already open is not a new regeneration: it is not counted twice.
        used = regenerations_today(user=user) - (1 if existing is not None else 0)
        if used >= settings.REGENERATIONS_PER_DAY:
            raise DailyLimitReached(f"You have used your {settings.REGENERATIONS_PER_DAY} regenerations for today.")
        if existing is not None:
            existing.created = False
            return existing
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    episode=episode,
                    user=user,
                    kind=Delivery.Kind.REGENERATION,
                    status=Delivery.Status.PENDING,
                    # Captured now: the worker uses it even if the setting changes before it runs.
                    target_prompt_version=settings.SUMMARY_PROMPT_VERSION,
                )
        except IntegrityError:
            # delivery_one_open_regeneration: a concurrent request won the race.
            existing = _open_regeneration(episode_id=episode.pk, user=user)
            if existing is None:
                raise
            existing.created = False
            return existing
        delivery.created = True
        delivery_enqueue(delivery_id=delivery.pk)
    logger.info(
        "regeneration_requested",
        extra={
            "event": "regeneration_requested",
            "delivery_id": delivery.pk,
            "episode_id": episode.pk,
            "user_id": user.pk,
            "target_prompt_version": delivery.target_prompt_version,
        },
    )
    return delivery


# --- Bulk regeneration (manage.py regenerate_summaries) --------------------------------


def system_user_get_or_create() -> AbstractBaseUser:
    """The account bulk regenerations belong to: inactive, no password, no email."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=SYSTEM_USERNAME, defaults={"is_active": False, "email": ""})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _system_regenerations_create(*, episode_ids: list[int], target: str, batch_id: str = "") -> list[int]:
    """System-account regenerations of `episode_ids` at `target`, one per episode (an episode
    already pending keeps its own); enqueued on commit unless they are for a Message Batch.
    Returns the pending ones' ids. Call inside atomic()."""
    system_user = system_user_get_or_create()
    Delivery.objects.bulk_create(
        [
            Delivery(
                episode_id=episode_id,
                user=system_user,
                kind=Delivery.Kind.REGENERATION,
                target_prompt_version=target,
                batch_id=batch_id,
            )
            for episode_id in episode_ids
        ],
        ignore_conflicts=True,  # delivery_one_open_regeneration: already pending
    )
    ids = list(
        Delivery.objects.filter(
            episode_id__in=episode_ids,
            user=system_user,
            kind=Delivery.Kind.REGENERATION,
            status=Delivery.Status.PENDING,
            batch_id=batch_id,
        ).values_list("pk", flat=True)
    )
    if not batch_id:
        for delivery_id in ids:
            delivery_enqueue(delivery_id=delivery_id)
    return ids


def regeneration_system_request(*, episode_id: int) -> Delivery:
    """A regeneration of one episode by the system account at the current prompt version,
    outdated or not (a curator's re-summarize): the open one if there is one."""
    with transaction.atomic():
        _system_regenerations_create(episode_ids=[episode_id], target=settings.SUMMARY_PROMPT_VERSION)
        return _open_regeneration(episode_id=episode_id, user=system_user_get_or_create())


def outdated_current_summaries(
    *, target_prompt_version: str, podcast_id: int | None = None, episode_id: int | None = None
) -> QuerySet[Summary]:
    """Current (newest visible) published summaries of visible episodes not at
    `target_prompt_version`, excluding episodes that already have an open regeneration."""
    newer_or_featured = (
        summaries_visible()
        .filter(episode_id=OuterRef("episode_id"))
        .filter(
            Q(editorial_status=Summary.EditorialStatus.FEATURED)
            | Q(created_at__gt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
        )
    )
    open_regeneration = Delivery.objects.filter(
        episode_id=OuterRef("episode_id"), kind=Delivery.Kind.REGENERATION, status__in=OPEN_STATUSES
    )
    summaries = (
        summaries_visible()
        .filter(episode__in=episodes_visible())
        .exclude(prompt_version=target_prompt_version)
        .filter(~Exists(newer_or_featured), ~Exists(open_regeneration))
        # Published only: a featured summary is current and a curator's pick, never regenerated.
        .filter(editorial_status=Summary.EditorialStatus.PUBLISHED)
        .order_by()
    )
    if podcast_id is not None:
        summaries = summaries.filter(episode__podcast_id=podcast_id)
    if episode_id is not None:
        summaries = summaries.filter(episode_id=episode_id)
    return summaries


def regeneration_plan(
    *, podcast_id: int | None = None, episode_id: int | None = None, prompt_version: str | None = None
) -> dict[str, Any]:
    """What a bulk regeneration would create, counted with aggregate queries; writes nothing."""
    target = prompt_version or settings.SUMMARY_PROMPT_VERSION
    candidates = outdated_current_summaries(target_prompt_version=target, podcast_id=podcast_id, episode_id=episode_id)
    by_podcast = list(
        candidates.values("episode__podcast_id", "episode__podcast__title")
        .annotate(count=Count("id"))
        .order_by("episode__podcast_id")
    )
    by_version = list(candidates.values("prompt_version").annotate(count=Count("id")).order_by("prompt_version"))
    return {
        "target_prompt_version": target,
        "total": sum(row["count"] for row in by_version),
        "by_podcast": [
            {"podcast_id": row["episode__podcast_id"], "title": row["episode__podcast__title"], "count": row["count"]}
            for row in by_podcast
        ],
        "by_prompt_version": [{"prompt_version": row["prompt_version"], "count": row["count"]} for row in by_version],
    }


def regeneration_execute(
    *,
    podcast_id: int | None = None,
    episode_id: int | None = None,
    prompt_version: str | None = None,
    batch_size: int = 1000,
    batch_id: str = "",
) -> dict[str, Any]:
    """Create the planned regenerations (skipping episodes already pending) and enqueue them.

    With `batch_id` the deliveries are created carrying it and are not enqueued:
    summaries.batches submits them to a Message Batch instead.
    Idempotent: a second run finds every episode pending (or regenerated) and creates nothing.
    """
    target = prompt_version or settings.SUMMARY_PROMPT_VERSION
    plan = regeneration_plan(podcast_id=podcast_id, episode_id=episode_id, prompt_version=target)
    episode_ids = list(
        outdated_current_summaries(target_prompt_version=target, podcast_id=podcast_id, episode_id=episode_id)
        .values_list("episode_id", flat=True)
        .order_by("episode_id")
    )
    created_ids: list[int] = []
    for offset in range(0, len(episode_ids), batch_size):
        chunk = episode_ids[offset : offset + batch_size]
        with transaction.atomic():
            ids = _system_regenerations_create(episode_ids=chunk, target=target, batch_id=batch_id)
        created_ids.extend(ids)
    logger.info(
        "regeneration_bulk_created",
        extra={"event": "regeneration_bulk_created", "count": len(created_ids), "target_prompt_version": target},
    )
    return {**plan, "created": len(created_ids), "delivery_ids": created_ids}
