"""The audio cache's limits, enforced by the scheduler (`manage.py prunemedia`).

AUDIO_RETENTION_DAYS: the cached audio of an episode summarized that many days ago is
deleted (its page then plays the publisher's enclosure; a re-run downloads it again).
MEDIA_MAX_BYTES: once the cached audio reaches the budget, downloads stop (episodes
wait in `new`) and one inbox item says so; they resume once space is freed.
0 turns either off.
"""

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Sum
from django.utils import timezone

from curation.models import CurationItem
from curation.services import enqueue_for_review
from podcasts.models import Episode

logger = logging.getLogger("castnotes.media")


def media_bytes_used() -> int:
    """Bytes of cached audio the database knows of (what downloads added)."""
    return Episode.objects.exclude(audio_path="").aggregate(total=Sum("audio_bytes"))["total"] or 0


def media_budget_spent() -> bool:
    return bool(settings.MEDIA_MAX_BYTES) and media_bytes_used() >= settings.MEDIA_MAX_BYTES


def audio_retention_apply(*, now=None) -> tuple[list[int], int]:
    """Delete the cached audio of episodes summarized over AUDIO_RETENTION_DAYS ago; (ids, bytes freed)."""
    if not settings.AUDIO_RETENTION_DAYS:
        return [], 0
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIO_RETENTION_DAYS)
    root = Path(settings.MEDIA_ROOT).resolve()
    expired = (
        Episode.objects.filter(pipeline_status=Episode.PipelineStatus.SUMMARIZED, status_changed_at__lt=cutoff)
        .exclude(audio_path="")
        .values_list("pk", "audio_path", "audio_bytes")
    )
    deleted, freed = [], 0
    for episode_id, relative, size in expired:
        try:
            path = (root / relative).resolve()
            # Clear the row first: a page rendered meanwhile plays the enclosure, never a missing file.
            if Episode.objects.filter(pk=episode_id, audio_path=relative).update(audio_path="") != 1:
                continue
            if path.is_relative_to(root) and not Episode.objects.filter(audio_path=relative).exists():
                path.unlink(missing_ok=True)
        except OSError as exc:  # one unreadable file must not stop the others
            logger.warning(
                "audio_retention_failed",
                extra={"event": "audio_retention_failed", "episode_id": episode_id, "error": type(exc).__name__},
            )
            continue
        deleted.append(episode_id)
        freed += size or 0
    if deleted:
        logger.info(
            "audio_retention_done", extra={"event": "audio_retention_done", "episodes": len(deleted), "bytes_freed": freed}
        )
    return deleted, freed


def media_budget_flag() -> CurationItem | None:
    """One open inbox item while the budget is spent (a repeat bumps it); None when it is not."""
    used = media_bytes_used()
    if not settings.MEDIA_MAX_BYTES or used < settings.MEDIA_MAX_BYTES:
        return None
    waiting = Episode.objects.filter(pipeline_status=Episode.PipelineStatus.NEW).count()
    # The budget is the whole audio store's, not one episode's: the item hangs on Episode's content type.
    return enqueue_for_review(
        target=ContentType.objects.get_for_model(Episode),
        flag_class=CurationItem.FlagClass.MEDIA_BUDGET_SPENT,
        severity=CurationItem.Severity.P1,
        proposed_by="scheduler:prunemedia",
        evidence={"bytes_used": used, "media_max_bytes": settings.MEDIA_MAX_BYTES, "episodes_waiting": waiting},
    )


def media_enforce() -> dict:
    """Retention first (it frees space), then the budget. Idempotent."""
    deleted, freed = audio_retention_apply()
    item = media_budget_flag()
    return {
        "audio_deleted": deleted,
        "bytes_freed": freed,
        "bytes_used": media_bytes_used(),
        "media_max_bytes": settings.MEDIA_MAX_BYTES,
        "budget_spent": item is not None,
    }
