"""Deliveries: regenerations and new-episode emails, run on the `deliveries` queue.

Claim, work, commit (DESIGN.md "The pipeline"): a job claims its Delivery with a
conditional UPDATE (pending → processing), so a duplicate or late job is a no-op.
Regeneration is delete-last: a fresh summary is stored, the email is sent, and
only then is the new summary published and the old one retired, in one
transaction. A failure anywhere leaves the old summary current, and nothing here
ever deletes a summary.
"""

import logging
import smtplib
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import BadHeaderError, send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from config.logging import exception_fields
from config.queues import enqueue, enqueue_on_commit
from curation.models import CurationItem
from curation.services import editorial_transition, enqueue_for_review
from podcasts.feeds import single_line
from podcasts.models import Episode, Subscription
from podcasts.selectors import EPISODE_VISIBLE
from summaries.generation import summary_generate
from summaries.models import Delivery, EditorialStatus, Summary
from summaries.selectors import summary_current

logger = logging.getLogger("castnotes.deliveries")


class EmailNotSent(Exception):
    """Every attempt to hand the email to the mail server failed."""


def _log(event: str, delivery: Delivery, **fields) -> None:
    logger.info(
        event,
        extra={
            "event": event,
            "delivery_id": delivery.pk,
            "episode_id": delivery.episode_id,
            "user_id": delivery.user_id,
            "kind": delivery.kind,
            **fields,
        },
    )


def delivery_set_status(delivery: Delivery, status: str, **fields) -> None:
    """Move `delivery` to `status` (with `fields`), in the database and on the instance."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(status=status, status_changed_at=now, **fields)
    delivery.status = status
    for name, value in fields.items():
        setattr(delivery, name, value)


def delivery_enqueue(*, delivery_id: int) -> None:
    """Hand the delivery to the `deliveries` queue once the transaction commits; should that
    fail, deliveries_sweep enqueues it again."""
    enqueue_on_commit("deliveries", "summaries.tasks_deliveries.run_delivery", delivery_id)


def delivery_claim(*, delivery_id: int) -> bool:
    """pending → processing; False when another worker has it or it is done.

    A delivery submitted in a Message Batch (non-empty `batch_id`) belongs to
    summaries.batches.regeneration_batches_poll, never to this worker. One whose
    MAX_ATTEMPTS are used up (each crash or lost worker counts one) is failed
    with an item instead of being claimed again.
    """
    return _claim(delivery_id) == Delivery.Status.PROCESSING


def _claim(delivery_id: int) -> str:
    """processing (claimed), failed (attempts used up, failed now) or "skipped"."""
    mine = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, batch_id="")
    claimed = mine.filter(attempts__lt=settings.MAX_ATTEMPTS).update(
        status=Delivery.Status.PROCESSING, attempts=F("attempts") + 1, status_changed_at=timezone.now()
    )
    if claimed == 1:
        return Delivery.Status.PROCESSING
    if (
        mine.filter(attempts__gte=settings.MAX_ATTEMPTS).update(status=Delivery.Status.FAILED, status_changed_at=timezone.now())
        == 1
    ):
        delivery = Delivery.objects.get(pk=delivery_id)
        delivery_fail(delivery, step="attempts", error=f"gave up after {delivery.attempts} attempts")
        return Delivery.Status.FAILED
    return "skipped"


def delivery_run(*, delivery_id: int) -> str:
    """Run one delivery; return its final status, or "skipped" when it could not be claimed."""
    claim = _claim(delivery_id)
    if claim != Delivery.Status.PROCESSING:
        logger.info("delivery_not_claimed", extra={"event": "delivery_not_claimed", "delivery_id": delivery_id})
        return claim
    delivery = Delivery.objects.select_related("episode", "episode__podcast", "user").get(pk=delivery_id)
    _log("delivery_started", delivery)
    if delivery.kind == Delivery.Kind.REGENERATION:
        _run_regeneration(delivery)
    else:
        _run_new_episode(delivery)
    return delivery.status


def delivery_fail(
    delivery: Delivery,
    *,
    step: str,
    error: str,
    flag_class: str = CurationItem.FlagClass.DELIVERY_FAILED,
    evidence: dict | None = None,
) -> None:
    """Mark the delivery failed and open a `delivery_failed` (or `flag_class`) item for a curator."""
    delivery_set_status(delivery, Delivery.Status.FAILED, last_error=f"{step}: {error}"[:2000])
    enqueue_for_review(
        target=delivery,
        flag_class=flag_class,
        severity=CurationItem.Severity.P1,
        evidence={
            "delivery_id": delivery.pk,
            "kind": delivery.kind,
            "episode_id": delivery.episode_id,
            "user_id": delivery.user_id,
            "step": step,
            "error": error[:500],
            "summary_id": delivery.summary_id,
            **(evidence or {}),
        },
        proposed_by="deliveries",
    )
    _log("delivery_failed", delivery, step=step, error=error[:200])


def _run_regeneration(delivery: Delivery) -> None:
    old = summary_current(episode_id=delivery.episode_id)
    new = delivery.summary
    if new is None and old is not None and old.prompt_version == delivery.target_prompt_version:
        # Another user's regeneration (or the pipeline) made the episode current meanwhile:
        # send that summary rather than paying for a second one at the same version.
        delivery_set_status(delivery, Delivery.Status.PROCESSING, summary=old)
        try:
            emailed = _email(delivery, template="summaries/email_regeneration.txt", subject=_subject("New summary", delivery))
        except EmailNotSent as exc:
            delivery_fail(delivery, step="email", error=str(exc))
            return
        delivery_set_status(delivery, Delivery.Status.SENT, sent_at=timezone.now() if emailed else None)
        _log("delivery_sent", delivery, summary_id=old.pk, emailed=emailed, reused=True)
        return
    # 1. A fresh summary at the version captured at request time (reused after a crash).
    if new is None:
        try:
            new = summary_generate(episode=delivery.episode, prompt_version=delivery.target_prompt_version, force=True)
        except Exception as exc:  # any failure leaves the old summary current
            delivery_fail(delivery, step="summary", error=f"{type(exc).__name__}: {exc}")
            return
        delivery_set_status(delivery, Delivery.Status.PROCESSING, summary=new)
    regeneration_finish(delivery=delivery, old=old, new=new)


def regeneration_finish(*, delivery: Delivery, old: Summary | None, new: Summary) -> None:
    """After the fresh summary `new` is stored on a processing regeneration: the email, then
    publish `new` and retire `old` together (delete-last). Shared by delivery_run and the
    Message Batch poller; any failure fails the delivery and leaves `old` current."""
    new.refresh_from_db(fields=["editorial_status"])
    if new.editorial_status == EditorialStatus.CANDIDATE:
        # The summarizer held it for a curator (e.g. unverifiable quotes): automation must not publish it.
        delivery_fail(delivery, step="held", error=f"summary {new.pk} held for curator review")
        return
    # 2. The email (skipped for accounts without an address or over the daily limit).
    try:
        emailed = _email(delivery, template="summaries/email_regeneration.txt", subject=_subject("New summary", delivery))
    except EmailNotSent as exc:
        _abandon(new, delivery=delivery)
        delivery_fail(delivery, step="email", error=str(exc))
        return
    # 3. Only now: publish the new summary, retire the old one and close the delivery, together.
    try:
        with transaction.atomic():
            summary_swap(old=old, new=new, reason=f"Regenerated at {delivery.target_prompt_version} (delivery {delivery.pk})")
            delivery_set_status(delivery, Delivery.Status.SENT, sent_at=timezone.now() if emailed else None)
    except Exception as exc:
        _abandon(new, delivery=delivery)
        delivery_fail(delivery, step="publish", error=f"{type(exc).__name__}: {exc}")
        return
    _log("delivery_sent", delivery, summary_id=new.pk, emailed=emailed)


def _abandon(new: Summary, *, delivery: Delivery) -> None:
    """After a failure, retire a new summary the summarizer already published, so the
    old one stays the current one once the delivery leaves processing. Never deleted."""
    try:
        if Summary.objects.filter(pk=new.pk, editorial_status=EditorialStatus.PUBLISHED).exists():
            editorial_transition(
                new,
                EditorialStatus.RETIRED,
                actor=None,
                reason=f"Regeneration (delivery {delivery.pk}) failed; the previous summary stays current",
                automated=True,
                actor_label="system:deliveries",
            )
    except Exception as exc:  # the failure is reported anyway; the summary stays hidden by the selector
        logger.warning(
            "regeneration_abandon_failed",
            extra={"event": "regeneration_abandon_failed", "summary_id": new.pk, "error": type(exc).__name__},
        )


def summary_swap(*, old: Summary | None, new: Summary, reason: str) -> None:
    """Publish `new` and retire `old` in one transaction, so an episode never shows no summary.

    A curator's featured or hidden is sticky: if the old summary became one of
    those meanwhile, editorial_transition refuses the automated retire, the whole
    swap rolls back and the caller fails the delivery (the old summary stays).
    """
    with transaction.atomic():
        editorial_transition(
            new, EditorialStatus.PUBLISHED, actor=None, reason=reason, automated=True, actor_label="system:deliveries"
        )
        if old is not None and old.pk != new.pk:
            editorial_transition(
                old, EditorialStatus.RETIRED, actor=None, reason=reason, automated=True, actor_label="system:deliveries"
            )
            Summary.objects.filter(pk=old.pk).update(superseded_by=new)
        # Two users' regenerations of one episode that ran at once each published a summary:
        # the last swap leaves one. Summaries still owned by an open delivery are that delivery's to settle.
        others = (
            Summary.objects.filter(episode_id=new.episode_id, editorial_status=EditorialStatus.PUBLISHED)
            .exclude(pk=new.pk)
            .exclude(deliveries__status__in=[Delivery.Status.PENDING, Delivery.Status.PROCESSING])
        )
        for other in others:
            editorial_transition(
                other, EditorialStatus.RETIRED, actor=None, reason=reason, automated=True, actor_label="system:deliveries"
            )
            Summary.objects.filter(pk=other.pk).update(superseded_by=new)


def _run_new_episode(delivery: Delivery) -> None:
    try:
        emailed = _email(delivery, template="summaries/email_new_episode.txt", subject=_subject("New episode", delivery))
    except EmailNotSent as exc:
        delivery_fail(delivery, step="email", error=str(exc))
        return
    if not emailed:
        delivery_set_status(delivery, Delivery.Status.CANCELLED, last_error=delivery.last_error)
        _log("delivery_cancelled", delivery, reason=delivery.last_error)
        return
    delivery_set_status(delivery, Delivery.Status.SENT, sent_at=timezone.now())
    _log("delivery_sent", delivery, emailed=True)


def _subject(prefix: str, delivery: Delivery) -> str:
    # Episode.__str__ falls back to the feed's guid: rows stored before guids were
    # normalised can still hold a newline, which would make a header of it.
    return single_line(f"{prefix}: {delivery.episode}", max_length=200)


def emails_sent_today(*, user: AbstractBaseUser) -> int:
    since = timezone.now() - timedelta(days=1)
    return Delivery.objects.filter(user=user, sent_at__gte=since).count()


def _email(delivery: Delivery, *, template: str, subject: str) -> bool:
    """Send the delivery's email with retries; False when it is skipped (no address, daily limit)."""
    user = delivery.user
    if not user.is_active or not user.email:
        delivery.last_error = "email skipped: no address"
        Delivery.objects.filter(pk=delivery.pk).update(last_error=delivery.last_error)
        return False
    if emails_sent_today(user=user) >= settings.EMAILS_PER_USER_PER_DAY:
        delivery.last_error = "email skipped: daily email limit"
        Delivery.objects.filter(pk=delivery.pk).update(last_error=delivery.last_error)
        _log("delivery_email_limited", delivery)
        return False
    summary = summary_current(episode_id=delivery.episode_id) if delivery.kind == Delivery.Kind.NEW_EPISODE else delivery.summary
    body = render_to_string(
        template,
        {
            "user": user,
            "episode": delivery.episode,
            "summary": summary,
            "content": summary.content if summary is not None else {},
            "episode_url": settings.SITE_URL.rstrip("/") + reverse("summaries:episode_detail", args=[delivery.episode_id]),
        },
    )
    attempts = 1 + settings.DELIVERY_EMAIL_RETRIES
    last_error = ""
    for attempt in range(1, attempts + 1):
        try:
            send_mail(subject[:200], body, None, [user.email], fail_silently=False)
        except (BadHeaderError, ValueError) as exc:
            # The message cannot be built (an address or header with a newline): no retry helps.
            # The exception text quotes the header, address included: its kind only.
            _log("delivery_email_error", delivery, attempt=attempt, error=type(exc).__name__)
            raise EmailNotSent(f"message refused: {type(exc).__name__}") from None
        except (smtplib.SMTPException, OSError) as exc:
            # Error kind and SMTP code only: server replies can quote the address.
            code = getattr(exc, "smtp_code", None)
            last_error = f"{type(exc).__name__}{f' {code}' if code else ''}"
            _log("delivery_email_error", delivery, attempt=attempt, error=last_error)
            if attempt < attempts:
                time.sleep(settings.DELIVERY_EMAIL_BACKOFF_SECONDS * (2 ** (attempt - 1)))
            continue
        return True
    raise EmailNotSent(f"{attempts} attempts failed, last: {last_error}")


def deliveries_for_new_episode(*, episode_id: int) -> int:
    """Queue a new-episode email for every subscriber who opted in; return how many were created.

    Safe to call twice: delivery_one_new_episode_email keeps one per (episode, user).
    """
    episode = Episode.objects.filter(EPISODE_VISIBLE, pk=episode_id).first()
    if episode is None:
        return 0
    user_ids = list(
        Subscription.objects.filter(podcast_id=episode.podcast_id, notify_new_episodes=True, user__is_active=True)
        .exclude(user__email="")
        .values_list("user_id", flat=True)
    )
    with transaction.atomic():
        before = Delivery.objects.filter(episode_id=episode_id, kind=Delivery.Kind.NEW_EPISODE).count()
        Delivery.objects.bulk_create(
            [Delivery(episode_id=episode_id, user_id=user_id, kind=Delivery.Kind.NEW_EPISODE) for user_id in user_ids],
            ignore_conflicts=True,
        )
        pending = list(
            Delivery.objects.filter(
                episode_id=episode_id, kind=Delivery.Kind.NEW_EPISODE, status=Delivery.Status.PENDING
            ).values_list("pk", flat=True)
        )
        created = Delivery.objects.filter(episode_id=episode_id, kind=Delivery.Kind.NEW_EPISODE).count() - before
        for delivery_id in pending:
            delivery_enqueue(delivery_id=delivery_id)
    logger.info(
        "new_episode_deliveries_created",
        extra={"event": "new_episode_deliveries_created", "episode_id": episode_id, "count": created},
    )
    return created


def deliveries_sweep(*, stuck_after: timedelta = timedelta(minutes=30)) -> dict[str, int]:
    """Put deliveries stuck in processing (a crashed worker) back to pending and enqueue
    pending ones that waited too long (lost enqueue). A second run changes nothing new."""

    cutoff = timezone.now() - stuck_after
    with transaction.atomic():
        stuck_rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PROCESSING, status_changed_at__lt=cutoff)
            .values_list("pk", "batch_id")
        )
        Delivery.objects.filter(pk__in=[pk for pk, _ in stuck_rows], status=Delivery.Status.PROCESSING).update(
            status=Delivery.Status.PENDING, status_changed_at=timezone.now()
        )
        # A batch delivery goes back to its batch: the next poll stores its result.
        stuck = [pk for pk, batch_id in stuck_rows if not batch_id]
        waiting = list(
            Delivery.objects.filter(status=Delivery.Status.PENDING, status_changed_at__lt=cutoff, batch_id="").values_list(
                "pk", flat=True
            )
        )
        for delivery_id in stuck + waiting:
            # Not delivery_enqueue: without Redis the job runs inline, and one crash must not end the loop.
            transaction.on_commit(lambda delivery_id=delivery_id: _enqueue_isolated(delivery_id))
    return {"reset": len(stuck_rows), "enqueued": len(stuck) + len(waiting)}


def _enqueue_isolated(delivery_id: int) -> None:
    """Without Redis the job runs right here: one delivery that crashes must not stop the
    sweep's loop over the others. It stays processing, and its attempts cap ends it."""
    try:
        enqueue("deliveries", "summaries.tasks_deliveries.run_delivery", delivery_id)
    except Exception as exc:
        logger.error(
            "delivery_crashed",
            extra={"event": "delivery_crashed", "delivery_id": delivery_id, **exception_fields(exc)},
        )
