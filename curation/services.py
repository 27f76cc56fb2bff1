"""Every write to the curation queue and the editorial log goes through here."""

import logging
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from curation.models import OPEN_STATUSES, CurationItem

logger = logging.getLogger("castnotes.curation")


def _open_item(*, content_type: ContentType, object_id: str, flag_class: str) -> CurationItem | None:
    return CurationItem.objects.filter(
        content_type=content_type, object_id=object_id, flag_class=flag_class, status__in=OPEN_STATUSES
    ).first()


def enqueue_for_review(
    *,
    target: models.Model,
    flag_class: str,
    severity: str,
    evidence: dict[str, Any] | None = None,
    proposed_action: str = "",
    proposed_by: str = "system",
) -> CurationItem:
    """Flag `target` for a curator; a repeat of an open (object, flag_class) bumps it instead.

    The partial unique constraint makes this safe under concurrency: the loser of
    a race catches the IntegrityError and bumps the winner's row.
    """
    if flag_class not in CurationItem.FlagClass.values:
        raise ValueError(f"unknown flag class {flag_class!r}")
    if severity not in CurationItem.Severity.values:
        raise ValueError(f"unknown severity {severity!r}")
    content_type = ContentType.objects.get_for_model(target)
    object_id = str(target.pk)
    evidence = evidence or {}
    now = timezone.now()
    for _ in range(3):
        existing = _open_item(content_type=content_type, object_id=object_id, flag_class=flag_class)
        if existing is not None:
            CurationItem.objects.filter(pk=existing.pk).update(
                occurrences=F("occurrences") + 1, last_seen=now, evidence=evidence or existing.evidence, updated_at=now
            )
            existing.refresh_from_db()
            return existing
        try:
            with transaction.atomic():
                item = CurationItem.objects.create(
                    content_type=content_type,
                    object_id=object_id,
                    object_repr=str(target)[:500],
                    flag_class=flag_class,
                    severity=severity,
                    proposed_action=proposed_action,
                    evidence=evidence,
                    proposed_by=proposed_by,
                )
        except IntegrityError:
            continue  # another process opened the same item first: bump it
        logger.info(
            "curation_item_created",
            extra={"event": "curation_item_created", "item_id": item.pk, "flag_class": flag_class, "severity": severity},
        )
        return item
    raise RuntimeError("could not enqueue curation item after repeated conflicts")
