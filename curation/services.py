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


class IllegalTransition(Exception):
    """An editorial move the state machine does not allow."""


# The one map of allowed editorial moves (DESIGN.md "Curation"); any state may be retired.
EDITORIAL_MOVES: dict[str, frozenset[str]] = {
    "candidate": frozenset({"published", "retired"}),
    "published": frozenset({"featured", "hidden", "retired"}),
    "featured": frozenset({"hidden", "retired"}),
    "hidden": frozenset({"published", "retired"}),
    "retired": frozenset(),
}
# Automation may only publish a candidate and retire a superseded summary.
AUTOMATION_MOVES: frozenset[tuple[str, str]] = frozenset(
    {("candidate", "published"), ("candidate", "retired"), ("published", "retired")}
)


def _actor_label(actor) -> str:
    return actor.get_username() if actor is not None else "system"


def curator_action_record(
    *, actor, target: models.Model, action: str, from_state: str = "", to_state: str = "", reason: str = "", actor_label: str = ""
):
    """Append one row to the editorial log."""
    from curation.models import CuratorAction

    return CuratorAction.objects.create(
        actor=actor,
        actor_label=actor_label or _actor_label(actor),
        content_type=ContentType.objects.get_for_model(target),
        object_id=str(target.pk),
        target_repr=str(target)[:500],
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
    )


def editorial_transition(obj, to: str, *, actor, reason: str, automated: bool = False, actor_label: str = "") -> bool:
    """Move a summary's editorial status to `to`; return False when it already is there.

    `actor=None` with `automated=True` is the pipeline: it may only publish a
    candidate and retire a superseded summary, so a curator's featured or hidden
    is never undone. Every real move writes one CuratorAction in the same transaction.
    """
    model = type(obj)
    with transaction.atomic():
        current = model.objects.select_for_update().values_list("editorial_status", flat=True).get(pk=obj.pk)
        if current == to:
            obj.editorial_status = current
            return False
        if to not in EDITORIAL_MOVES.get(current, frozenset()):
            raise IllegalTransition(f"A summary cannot move from {current} to {to}.")
        if automated and (current, to) not in AUTOMATION_MOVES:
            raise IllegalTransition(f"Automation cannot move a summary from {current} to {to}; a curator set it.")
        now = timezone.now()
        model.objects.filter(pk=obj.pk).update(editorial_status=to, editorial_changed_at=now)
        obj.editorial_status = to
        obj.editorial_changed_at = now
        curator_action_record(
            actor=actor,
            target=obj,
            action="editorial_transition",
            from_state=current,
            to_state=to,
            reason=reason,
            actor_label=actor_label or ("system:automation" if actor is None else ""),
        )
    return True
