"""Bulk regeneration through Anthropic's Message Batches API (half the list price).

`regeneration_batch_submit` creates the regenerations as `regenerate_summaries
--execute` does, but sends every one whose transcript fits in one request as an
entry of one Message Batch; the rest (long transcripts need the chunked
summarize) go to the normal `deliveries` queue. A batch delivery stays `pending`
with its `batch_id`, which keeps delivery_run and deliveries_sweep off it.

`regeneration_batches_poll` (scheduled) asks each open batch for its status and,
once it has ended, stores each result through the same parsing, validation,
quote verification and delete-last finish as a synchronous regeneration.
See docs/summaries.md "Bulk regeneration with Message Batches".
"""

import json
import logging
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import Length
from django.utils import timezone

from curation.models import CurationItem
from podcasts.models import Episode
from summaries.context import episode_context, transcript_ad_spans
from summaries.deliveries import delivery_enqueue, delivery_fail, delivery_set_status, regeneration_finish
from summaries.generation import DailyBudget, llm_usage_row, summary_source_hash, summary_store, transcript_for
from summaries.llm import (
    BATCH_PRICE_FACTOR,
    CHARS_PER_TOKEN,
    MalformedReply,
    ProviderRejected,
    TranscriptInput,
    Usage,
    cost_usd,
    estimate_tokens,
    output_verify,
    price_for,
    transcript_input,
)
from summaries.models import Delivery, LLMUsage
from summaries.prompts import prompt_get
from summaries.regeneration import (
    outdated_current_summaries,
    regeneration_execute,
    regeneration_plan,
)
from summaries.selectors import summary_current

logger = logging.getLogger("castnotes.batches")

CUSTOM_ID_PREFIX = "delivery-"
# Held by deliveries created for a batch until the API has given the batch its id:
# non-empty, so no worker or sweep picks them up in between.
SUBMITTING = "submitting"
RAW_ENTRY_MAX_CHARS = 20_000
SUBMIT_GRACE = timedelta(hours=1)
# The API takes at most 100,000 requests or 256 MB per batch; a margin for the envelope.
BATCH_MAX_REQUESTS = 100_000
BATCH_MAX_BYTES = 200 * 1024 * 1024


def _sdk():
    """The anthropic SDK and summaries.llm.anthropic, imported on first use: the SDK takes
    seconds to import, and the scheduler's poll runs every tick, mostly to find no batch."""
    import anthropic

    from summaries.llm import anthropic as llm

    return anthropic, llm


class BatchUnavailable(Exception):
    """--batch cannot run here (no Anthropic key or provider, unknown prompt version, API refusal)."""


def batch_check(*, prompt_version: str) -> None:
    """Refuse early, before anything is written, when a batch could not be sent."""
    if settings.SUMMARY_PROVIDER != "anthropic" or not settings.ANTHROPIC_API_KEY:
        raise BatchUnavailable("--batch needs the Anthropic provider: set ANTHROPIC_API_KEY (and SUMMARY_PROVIDER=anthropic).")
    if price_for(settings.ANTHROPIC_MODEL) is None:
        raise BatchUnavailable(f"ANTHROPIC_MODEL {settings.ANTHROPIC_MODEL!r} has no price in LLM_PRICES_USD_PER_MTOK.")
    try:
        prompt_get(prompt_version)
    except ValueError as exc:
        raise BatchUnavailable(str(exc)) from None


def regeneration_batch_estimate(
    *, podcast_id: int | None = None, episode_id: int | None = None, prompt_version: str | None = None
) -> dict[str, Any]:
    """The dry-run plan plus an estimated cost at batch price; aggregate queries only, writes nothing.

    Input tokens are estimated from transcript characters (as the budget does) plus the
    prompt, output tokens at SUMMARY_MAX_OUTPUT_TOKENS per request: an upper bound.
    """
    plan = regeneration_plan(podcast_id=podcast_id, episode_id=episode_id, prompt_version=prompt_version)
    prompt = prompt_get(plan["target_prompt_version"])
    candidates = outdated_current_summaries(
        target_prompt_version=plan["target_prompt_version"], podcast_id=podcast_id, episode_id=episode_id
    )
    totals = candidates.aggregate(chars=Sum(Length("episode__transcript__text")), count=Count("id"))
    count = totals["count"] or 0
    overhead = estimate_tokens(prompt.system) + estimate_tokens(prompt.user) + estimate_tokens(str(_sdk()[1].tool_for(prompt)))
    input_tokens = int((totals["chars"] or 0) / CHARS_PER_TOKEN) + overhead * count
    output_tokens = settings.SUMMARY_MAX_OUTPUT_TOKENS * count
    list_cost = cost_usd(settings.ANTHROPIC_MODEL, input_tokens=input_tokens, output_tokens=output_tokens)
    remaining = _budget_remaining()
    return {
        **plan,
        "batch": True,
        "daily_budget_remaining_tokens": remaining,
        "fits_daily_budget": input_tokens + output_tokens <= remaining,
        "estimated_input_tokens": input_tokens,
        "estimated_output_tokens_max": output_tokens,
        "estimated_cost_usd": str((list_cost * BATCH_PRICE_FACTOR).quantize(Decimal("0.01"))),
        "estimated_cost_usd_list_price": str(list_cost.quantize(Decimal("0.01"))),
    }


def _budget_remaining() -> int:
    """Tokens left in today's LLM_DAILY_TOKEN_BUDGET (read only: the dry run writes nothing)."""
    row = LLMUsage.objects.filter(day=timezone.now().astimezone(UTC).date()).first()
    used = (row.input_tokens + row.output_tokens + row.reserved_tokens) if row else 0
    return max(settings.LLM_DAILY_TOKEN_BUDGET - used, 0)


def _input(episode: Episode) -> TranscriptInput:
    """The transcript as every provider gets it: ad spans and filler out (see summaries.context)."""
    transcript = episode.transcript
    segments = transcript.segments or [{"start": 0.0, "end": transcript.duration or 0.0, "text": transcript.text}]
    return transcript_input(segments, ads=transcript_ad_spans(transcript), language=episode_context(episode).language)


def _id_chunks(ids: list[int], size: int = 500):
    """Bounded `IN (...)` lists (SQLite caps the parameters of one statement)."""
    for offset in range(0, len(ids), size):
        yield ids[offset : offset + size]


def regeneration_batch_submit(
    *, podcast_id: int | None = None, episode_id: int | None = None, prompt_version: str | None = None
) -> dict[str, Any]:
    """Create the planned regenerations and send them as Message Batches (one unless the API limits split it).

    Deliveries whose transcript needs more than one request are handed to the
    `deliveries` queue instead (listed as `queued`). If the API refuses the batch,
    its deliveries are cancelled (a re-run recreates them) and BatchUnavailable is raised.
    Idempotent like --execute: episodes already pending are skipped.
    """
    anthropic, llm = _sdk()
    target = prompt_version or settings.SUMMARY_PROMPT_VERSION
    batch_check(prompt_version=target)
    prompt = prompt_get(target)
    # Batch tokens are counted when the results come back, so the fail-closed budget is
    # checked here, on the batch's worst case, before anything is written or sent.
    estimate = regeneration_batch_estimate(podcast_id=podcast_id, episode_id=episode_id, prompt_version=target)
    if not estimate["fits_daily_budget"]:
        worst = estimate["estimated_input_tokens"] + estimate["estimated_output_tokens_max"]
        raise BatchUnavailable(
            f"The batch's worst case ({worst} tokens) exceeds what is left of LLM_DAILY_TOKEN_BUDGET today "
            f"({estimate['daily_budget_remaining_tokens']}); narrow it with --podcast/--episode or raise the budget."
        )
    result = regeneration_execute(podcast_id=podcast_id, episode_id=episode_id, prompt_version=target, batch_id=SUBMITTING)
    delivery_ids = result.pop("delivery_ids")
    client = llm.client_get()
    batch_ids: list[str] = []
    requests: list[dict[str, Any]] = []
    size = 0
    queued: list[int] = []
    batched = 0

    def send() -> None:
        nonlocal requests, size, batched
        in_batch = [int(r["custom_id"].removeprefix(CUSTOM_ID_PREFIX)) for r in requests]
        try:
            batch = client.messages.batches.create(requests=requests)
        except (anthropic.APIError, ProviderRejected) as exc:
            # This batch and every one not sent yet: cancelled; batches already sent stay.
            cancelled = sum(
                Delivery.objects.filter(pk__in=chunk, batch_id=SUBMITTING).update(
                    status=Delivery.Status.CANCELLED,
                    batch_id="",
                    last_error=f"batch submit failed: {type(exc).__name__}"[:2000],
                    status_changed_at=timezone.now(),
                )
                for chunk in _id_chunks(delivery_ids)
            )
            status = getattr(exc, "status_code", None)
            sent = f" ({len(batch_ids)} batch(es) already sent: {', '.join(batch_ids)})" if batch_ids else ""
            raise BatchUnavailable(
                f"The Message Batches API refused the batch ({status or type(exc).__name__}); "
                f"its {cancelled} regeneration(s) were cancelled{sent}."
            ) from exc
        Delivery.objects.filter(pk__in=in_batch, batch_id=SUBMITTING).update(batch_id=batch.id)
        batch_ids.append(batch.id)
        batched += len(requests)
        logger.info(
            "regeneration_batch_submitted",
            extra={
                "event": "regeneration_batch_submitted",
                "batch_id": batch.id,
                "count": len(in_batch),
                "target_prompt_version": target,
            },
        )
        requests, size = [], 0

    deliveries = (
        delivery
        for chunk in _id_chunks(delivery_ids)
        for delivery in Delivery.objects.filter(pk__in=chunk)
        .select_related("episode__transcript", "episode__podcast")
        .order_by("pk")
    )
    for delivery in deliveries:
        try:
            params = llm.single_request_params(
                _input(delivery.episode).prepared, prompt=prompt, context=episode_context(delivery.episode)
            )
        except (Episode.transcript.RelatedObjectDoesNotExist, ValueError, ProviderRejected):
            params = None  # no usable transcript: the normal worker fails and flags it
        if params is None:
            # Too long for one request: the normal worker summarizes it in parts, at list price.
            with transaction.atomic():
                Delivery.objects.filter(pk=delivery.pk, batch_id=SUBMITTING).update(batch_id="")
                delivery_enqueue(delivery_id=delivery.pk)
            queued.append(delivery.pk)
            continue
        entry = {"custom_id": f"{CUSTOM_ID_PREFIX}{delivery.pk}", "params": params}
        entry_size = len(json.dumps(entry).encode())
        if requests and (len(requests) >= BATCH_MAX_REQUESTS or size + entry_size > BATCH_MAX_BYTES):
            send()
        requests.append(entry)
        size += entry_size
    if requests:
        send()
    return {**result, "batch": True, "batch_ids": batch_ids, "batched": batched, "queued": len(queued)}


# --- Polling -------------------------------------------------------------------------------


def _open_batch_ids() -> list[str]:
    return list(
        Delivery.objects.filter(kind=Delivery.Kind.REGENERATION, status=Delivery.Status.PENDING)
        .exclude(batch_id__in=["", SUBMITTING])
        .values_list("batch_id", flat=True)
        .distinct()
        .order_by("batch_id")
    )


def _entry_json(entry: Any) -> str:
    try:
        raw = entry.model_dump_json(exclude_none=True)
    except Exception:
        raw = repr(entry)
    return raw[:RAW_ENTRY_MAX_CHARS]


def _claim(*, delivery_id: int, batch_id: str) -> Delivery | None:
    claimed = Delivery.objects.filter(pk=delivery_id, batch_id=batch_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.PROCESSING, attempts=F("attempts") + 1, status_changed_at=timezone.now()
    )
    if claimed != 1:
        return None
    return Delivery.objects.select_related("episode", "episode__podcast", "user").get(pk=delivery_id)


def _ledger(usage: Usage) -> None:
    """Count a batch result's tokens in today's ledger (spent already: nothing to reserve)."""
    DailyBudget().settle((llm_usage_row().pk, 0), usage)


def _store_result(delivery: Delivery, *, entry: Any, batch_id: str) -> str:
    """One claimed delivery's result → its final status."""
    old = summary_current(episode_id=delivery.episode_id)
    new = delivery.summary  # set when a poller crashed after storing: finish, do not store twice
    if new is None:
        kind = entry.result.type
        evidence = {"batch_id": batch_id, "custom_id": entry.custom_id, "raw_entry": _entry_json(entry)}
        if kind != "succeeded":
            error = kind
            if kind == "errored":
                err = entry.result.error.error
                error = f"errored: {getattr(err, 'type', '')} {getattr(err, 'message', '')}".strip()
            delivery_fail(delivery, step="batch", error=error, evidence=evidence)
            return delivery.status
        model = settings.ANTHROPIC_MODEL
        try:
            transcript = transcript_for(delivery.episode)
            output = _sdk()[1].output_from_message(entry.result.message, model=model, price_factor=BATCH_PRICE_FACTOR)
            given = _input(delivery.episode)
            result = output_verify(output, given=given, prompt_version=delivery.target_prompt_version)
        except MalformedReply as exc:
            with transaction.atomic():  # the tokens were spent: counted once, with the failure
                _ledger(exc.usage)
                delivery_fail(
                    delivery,
                    step="batch",
                    error=f"malformed reply ({exc.reason}): {exc.detail[:300]}",
                    flag_class=CurationItem.FlagClass.MALFORMED_LLM_OUTPUT,
                    evidence={**evidence, "reason": exc.reason, "model": model, "prompt_version": delivery.target_prompt_version},
                )
            return delivery.status
        except Exception as exc:  # no transcript any more, a price missing: flagged, old summary stays
            delivery_fail(delivery, step="batch", error=f"{type(exc).__name__}: {exc}", evidence=evidence)
            return delivery.status
        # The spans as they stand now (the request was built without those of submit time;
        # a correction in between shows as outdated once this summary is stored).
        ads = transcript_ad_spans(transcript)
        hash_ = summary_source_hash(
            transcript=transcript, prompt_version=delivery.target_prompt_version, provider="anthropic", ads=ads
        )
        with transaction.atomic():
            new = summary_store(episode=delivery.episode, result=result, hash_=hash_, ads=ads, supersede=False)
            delivery_set_status(delivery, Delivery.Status.PROCESSING, summary=new)
            # In the same transaction as the summary: a result is counted exactly once.
            _ledger(result.usage)
    regeneration_finish(delivery=delivery, old=old, new=new)
    return delivery.status


def regeneration_batch_poll(*, batch_id: str) -> dict[str, int]:
    """Store the results of one batch if it has ended; nothing happens while it is in progress."""
    client = _sdk()[1].client_get()
    batch = client.messages.batches.retrieve(batch_id)
    counts = {"stored": 0, "failed": 0, "skipped": 0}
    if batch.processing_status != "ended":
        logger.info("regeneration_batch_waiting", extra={"event": "regeneration_batch_waiting", "batch_id": batch_id})
        return counts
    for entry in client.messages.batches.results(batch_id):
        try:
            delivery_id = int(entry.custom_id.removeprefix(CUSTOM_ID_PREFIX))
        except ValueError:
            counts["skipped"] += 1
            continue
        delivery = _claim(delivery_id=delivery_id, batch_id=batch_id)
        if delivery is None:  # done by an earlier poll, or not ours
            counts["skipped"] += 1
            continue
        status = _store_result(delivery, entry=entry, batch_id=batch_id)
        counts["stored" if status == Delivery.Status.SENT else "failed"] += 1
    # An entry the results never mentioned would otherwise stay pending forever.
    for delivery_id in Delivery.objects.filter(batch_id=batch_id, status=Delivery.Status.PENDING).values_list("pk", flat=True):
        delivery = _claim(delivery_id=delivery_id, batch_id=batch_id)
        if delivery is not None:
            delivery_fail(
                delivery, step="batch", error="no result for this entry in the ended batch", evidence={"batch_id": batch_id}
            )
            counts["failed"] += 1
    logger.info("regeneration_batch_ended", extra={"event": "regeneration_batch_ended", "batch_id": batch_id, **counts})
    return counts


def regeneration_batches_poll() -> dict[str, Any]:
    """Poll every batch that still has pending deliveries; safe to run any number of times."""
    # A submit that crashed between creating its deliveries and the API call: cancel them
    # (the outdated summary stays current; a re-run of --batch recreates them).
    abandoned = Delivery.objects.filter(
        batch_id=SUBMITTING, status=Delivery.Status.PENDING, status_changed_at__lt=timezone.now() - SUBMIT_GRACE
    ).update(
        status=Delivery.Status.CANCELLED, batch_id="", last_error="batch submit interrupted", status_changed_at=timezone.now()
    )
    batch_ids = _open_batch_ids()
    totals: dict[str, Any] = {
        "batches": len(batch_ids),
        "stored": 0,
        "failed": 0,
        "skipped": 0,
        "errors": 0,
        "abandoned": abandoned,
    }
    if not batch_ids:
        return totals
    anthropic = _sdk()[0]
    for batch_id in batch_ids:
        try:
            counts = regeneration_batch_poll(batch_id=batch_id)
        except (anthropic.APIError, ProviderRejected) as exc:  # try again at the next poll
            totals["errors"] += 1
            logger.warning(
                "regeneration_batch_poll_failed",
                extra={"event": "regeneration_batch_poll_failed", "batch_id": batch_id, "error": type(exc).__name__},
            )
            continue
        for name, value in counts.items():
            totals[name] += value
    return totals
