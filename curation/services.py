"""Every write to the curation queue and the editorial log goes through here."""

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from curation.models import OPEN_STATUSES, CurationItem, CuratorAction

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


GROUP_MEMBERS_MAX = 1000


def review_item_join(
    *, flag_classes: tuple[str, ...], evidence_match: dict[str, Any], member_key: str, member: Any
) -> CurationItem | None:
    """Fold one more occurrence into an open item instead of opening another.

    The open item among `flag_classes` whose evidence has every key/value of
    `evidence_match` gets `member` added to its `evidence[member_key]` list (at
    most GROUP_MEMBERS_MAX kept) and its occurrences bumped. Returns it, or None
    when no such item is open (the caller then opens one with enqueue_for_review).
    Call inside the caller's transaction, with the group's row locked, so two
    members of one group cannot both find none.
    """
    lookups = {f"evidence__{key}": value for key, value in evidence_match.items()}
    item = (
        CurationItem.objects.select_for_update()
        .filter(status__in=OPEN_STATUSES, flag_class__in=flag_classes, **lookups)
        .order_by("pk")
        .first()
    )
    if item is None:
        return None
    members = list(item.evidence.get(member_key, []))
    if member not in members and len(members) < GROUP_MEMBERS_MAX:
        members.append(member)
    now = timezone.now()
    item.evidence = {**item.evidence, member_key: members}
    item.occurrences = F("occurrences") + 1
    item.last_seen = now
    item.save(update_fields=["evidence", "occurrences", "last_seen", "updated_at"])
    item.refresh_from_db()
    return item


class CurationError(Exception):
    """A curation request the domain refuses; the message is shown to the curator as is."""


class IllegalTransition(CurationError):
    """An editorial move the state machine does not allow."""


class StickyState(IllegalTransition):
    """Automation tried to undo a curator's decision (featured, hidden)."""


class IllegalQueueMove(CurationError):
    """A curation item move the queue does not allow (e.g. resolving a dismissed item)."""


class ProposedActionFailed(CurationError):
    """The item's proposed action could not be carried out; the item stays open."""


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
# States only a curator sets; automation never moves a summary out of them.
CURATOR_STATES: frozenset[str] = frozenset({"featured", "hidden"})


def _actor_label(actor) -> str:
    return actor.get_username() if actor is not None else "system"


def curator_action_record(
    *,
    actor,
    target: models.Model | None = None,
    action: str,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    actor_label: str = "",
    curation_item: CurationItem | None = None,
) -> CuratorAction:
    """Append one row to the editorial log.

    The target is `target`, or else the object `curation_item` points at (which
    may be gone: the item's content type, id and snapshot still name it).
    """
    if target is not None:
        content_type = ContentType.objects.get_for_model(target)
        object_id, target_repr = str(target.pk), str(target)[:500]
    elif curation_item is not None:
        content_type = ContentType.objects.get_for_id(curation_item.content_type_id)
        object_id, target_repr = curation_item.object_id, curation_item.object_repr
    else:
        raise ValueError("curator_action_record needs a target or a curation_item")
    return CuratorAction.objects.create(
        actor=actor,
        actor_label=actor_label or _actor_label(actor),
        content_type=content_type,
        object_id=object_id,
        target_repr=target_repr,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        curation_item=curation_item,
    )


def editorial_transition(obj, to: str, *, actor, reason: str, automated: bool = False, actor_label: str = "") -> bool:
    """Move a summary's editorial status to `to`; return False when it already is there.

    `automated=True` is the pipeline (re-ingest, re-summarize, regeneration): it
    may only publish a candidate and retire a superseded summary, so a curator's
    featured or hidden is never undone (StickyState). Every real move writes one
    CuratorAction in the same transaction; a repeat of the current state writes
    nothing and leaves `editorial_changed_at` alone.
    """
    if to not in EDITORIAL_MOVES:
        raise IllegalTransition(f"{to!r} is not an editorial state (one of: {', '.join(EDITORIAL_MOVES)}).")
    model = type(obj)
    with transaction.atomic():
        # The row lock serialises a curator and the pipeline deciding at once.
        current = model.objects.select_for_update().values_list("editorial_status", flat=True).get(pk=obj.pk)
        if current == to:
            obj.editorial_status = current
            return False
        if automated and (current, to) not in AUTOMATION_MOVES:
            if current in CURATOR_STATES:
                raise StickyState(f"Automation cannot move summary {obj.pk} from {current} to {to}: a curator set it {current}.")
            raise IllegalTransition(f"Automation cannot move summary {obj.pk} from {current} to {to}.")
        if to not in EDITORIAL_MOVES[current]:
            allowed = ", ".join(sorted(EDITORIAL_MOVES[current])) or "nothing"
            raise IllegalTransition(
                f"Summary {obj.pk} cannot move from {current} to {to} (from {current} it can move to: {allowed})."
            )
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
    logger.info(
        "editorial_transition",
        extra={"event": "editorial_transition", "object_id": obj.pk, "from": current, "to": to, "automated": automated},
    )
    return True


# --- The queue --------------------------------------------------------------------

Status = CurationItem.Status
# The one map of allowed queue moves; resolved and dismissed are final.
QUEUE_MOVES: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.IN_REVIEW, Status.RESOLVED, Status.DISMISSED, Status.ESCALATED}),
    Status.IN_REVIEW: frozenset({Status.PENDING, Status.RESOLVED, Status.DISMISSED, Status.ESCALATED}),
    Status.ESCALATED: frozenset({Status.IN_REVIEW, Status.RESOLVED, Status.DISMISSED}),
    Status.RESOLVED: frozenset(),
    Status.DISMISSED: frozenset(),
}


def _locked_item(item: CurationItem) -> CurationItem:
    """Re-read the item under a row lock; the caller's copy may be stale."""
    return CurationItem.objects.select_for_update().get(pk=item.pk)


def _refresh(item: CurationItem, fresh: CurationItem) -> None:
    for field in ("status", "assigned_to_id", "resolved_by_id", "resolved_at", "resolution", "updated_at"):
        setattr(item, field, getattr(fresh, field))


def _queue_move(item: CurationItem, *, to: str, actor, reason: str, action: str, apply=None) -> bool:
    """Move `item` to `to` with one CuratorAction; False when it already is there."""
    with transaction.atomic():
        fresh = _locked_item(item)
        current = fresh.status
        if current == to:
            _refresh(item, fresh)
            return False
        if to not in QUEUE_MOVES[current]:
            raise IllegalQueueMove(
                f"Item {item.pk} is {fresh.get_status_display().lower()}: "
                f"it cannot move to {Status(to).label.lower()} from there."
            )
        fresh.status = to
        if apply is not None:
            apply(fresh)
        fresh.save(update_fields=["status", "assigned_to", "resolved_by", "resolved_at", "resolution", "updated_at"])
        curator_action_record(actor=actor, curation_item=fresh, action=action, from_state=current, to_state=to, reason=reason)
        _refresh(item, fresh)
    logger.info(
        action,
        extra={"event": action, "item_id": item.pk, "from": current, "to": to, "actor_id": getattr(actor, "pk", None)},
    )
    return True


def curation_item_assign(item: CurationItem, *, actor, assignee=None, reason: str = "") -> bool:
    """Assign an open item to `assignee` (default: the actor); False when already theirs."""
    assignee = assignee if assignee is not None else actor
    with transaction.atomic():
        fresh = _locked_item(item)
        if not fresh.is_open:
            raise IllegalQueueMove(f"Item {item.pk} is {fresh.get_status_display().lower()}: only open items can be assigned.")
        if fresh.assigned_to_id == assignee.pk:
            _refresh(item, fresh)
            return False
        fresh.assigned_to = assignee
        fresh.save(update_fields=["assigned_to", "updated_at"])
        curator_action_record(
            actor=actor,
            curation_item=fresh,
            action="curation_item_assign",
            from_state=fresh.status,
            to_state=fresh.status,
            reason=reason or f"assigned to {assignee.get_username()}",
        )
        _refresh(item, fresh)
    return True


def curation_item_start_review(item: CurationItem, *, actor, reason: str = "") -> bool:
    """pending/escalated → in_review; an unassigned item becomes the actor's."""

    def claim(fresh: CurationItem) -> None:
        if fresh.assigned_to_id is None:
            fresh.assigned_to = actor

    return _queue_move(item, to=Status.IN_REVIEW, actor=actor, reason=reason, action="curation_item_start_review", apply=claim)


def _closer(actor, text: str):
    def close(fresh: CurationItem) -> None:
        fresh.resolved_by = actor
        fresh.resolved_at = timezone.now()
        fresh.resolution = text

    return close


def curation_item_resolve(item: CurationItem, *, actor, resolution: str, carry_out: bool = True) -> bool:
    """Resolve an open item, first carrying out its proposed action when `carry_out`.

    The action and the resolution share one transaction: if the action fails
    (ProposedActionFailed, IllegalTransition) nothing is written and the item stays open.
    """
    with transaction.atomic():
        fresh = _locked_item(item)
        if fresh.status == Status.RESOLVED:
            _refresh(item, fresh)
            return False
        if Status.RESOLVED not in QUEUE_MOVES[fresh.status]:
            raise IllegalQueueMove(f"Item {item.pk} is {fresh.get_status_display().lower()}: it cannot be resolved from there.")
        done = ""
        if carry_out and fresh.proposed_action:
            done = proposed_action_carry_out(item=fresh, actor=actor)
        text = resolution.strip() or "Resolved."
        if done:
            text = f"{text} [{done}]"
        return _queue_move(
            item, to=Status.RESOLVED, actor=actor, reason=text, action="curation_item_resolve", apply=_closer(actor, text)
        )


def curation_item_dismiss(item: CurationItem, *, actor, reason: str = "") -> bool:
    """Close an open item without acting on it (a false alarm)."""
    text = reason.strip() or "Dismissed."
    return _queue_move(
        item, to=Status.DISMISSED, actor=actor, reason=text, action="curation_item_dismiss", apply=_closer(actor, text)
    )


def curation_item_escalate(item: CurationItem, *, actor, reason: str = "") -> bool:
    """Hand an open item up (an operator or a superuser has to look)."""
    return _queue_move(item, to=Status.ESCALATED, actor=actor, reason=reason, action="curation_item_escalate")


def curation_item_reopen(item: CurationItem, *, actor, reason: str = "") -> bool:
    """in_review → pending: give an item back to the queue."""

    def release(fresh: CurationItem) -> None:
        fresh.assigned_to = None

    return _queue_move(item, to=Status.PENDING, actor=actor, reason=reason, action="curation_item_reopen", apply=release)


# --- Proposed actions ---------------------------------------------------------------
#
# Curation is the lowest domain layer: it knows no episode or summary. The app
# that owns an action registers its handler from its AppConfig.ready()
# (podcasts: retry_job, retranscribe, ingest_feed; summaries: hide_summary,
# resummarize), and resolving an item carries it out through this registry.

ProposedActionHandler = Callable[[CurationItem, Any], str]
_PROPOSED_ACTIONS: dict[str, ProposedActionHandler] = {}


def proposed_action_register(name: str, handler: ProposedActionHandler) -> None:
    """Register the handler that carries out `proposed_action == name` on resolve."""
    if name not in CurationItem.ProposedAction.values or not name:
        raise ValueError(f"unknown proposed action {name!r}")
    registered = _PROPOSED_ACTIONS.get(name)
    if registered is not None and registered is not handler:
        raise ValueError(f"proposed action {name!r} already has a handler")
    _PROPOSED_ACTIONS[name] = handler


def proposed_action_handlers() -> dict[str, ProposedActionHandler]:
    """A copy of the registry: proposed action → handler."""
    return dict(_PROPOSED_ACTIONS)


def proposed_action_carry_out(*, item: CurationItem, actor) -> str:
    """Run the item's proposed action; return a short note of what was done."""
    handler = _PROPOSED_ACTIONS.get(item.proposed_action)
    if handler is None:
        raise ProposedActionFailed(
            f"No handler carries out {item.proposed_action!r} yet; dismiss the item or resolve it without the action."
        )
    return handler(item, actor)


def proposed_action_target(item: CurationItem, model_label: str):
    """The item's target, checked to be a `model_label` (e.g. "podcasts.episode") that still exists."""
    if item.content_type.model_class() is None or item.content_type.model_class()._meta.label_lower != model_label:
        raise ProposedActionFailed(
            f"Item {item.pk} proposes {item.proposed_action!r} but points at a "
            f"{item.content_type.app_label}.{item.content_type.model}, not a {model_label}."
        )
    target = item.content_object
    if target is None:
        raise ProposedActionFailed(f"{item.object_repr or model_label} (id {item.object_id}) no longer exists.")
    return target


# --- The Curators group ----------------------------------------------------------------

CURATORS_GROUP = "Curators"
# Kept equal to the frozen lists of migrations 0004_curators_group,
# 0009_curators_steer_pipeline and 0010_curators_correct_ad_spans (a test checks them).
CURATOR_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("curation", "view_curationitem"),
    ("curation", "change_curationitem"),
    ("curation", "view_curatoraction"),
    ("summaries", "view_summary"),
    ("summaries", "change_summary"),
    ("podcasts", "view_podcast"),
    ("podcasts", "view_episode"),
    ("podcasts", "view_transcript"),
    ("podcasts", "steer_pipeline"),
    ("podcasts", "view_adspan"),
    ("podcasts", "add_adspan"),
    ("podcasts", "change_adspan"),
)


def curators_group_ensure():
    """Create the Curators group, or reset it to exactly the curator permissions."""
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    wanted = Q()
    for app_label, codename in CURATOR_PERMISSIONS:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    permissions = list(Permission.objects.filter(wanted))
    if len(permissions) != len(CURATOR_PERMISSIONS):
        raise RuntimeError("curator permissions are missing: run `manage.py migrate` first")
    group.permissions.set(permissions)
    return group
