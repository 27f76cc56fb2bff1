"""Reads of summaries that are more than a filter."""

from datetime import UTC

from django.conf import settings
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from summaries.models import EditorialStatus, LLMUsage, Summary

VISIBLE_STATES = (EditorialStatus.FEATURED, EditorialStatus.PUBLISHED)


def summary_visible_for_episode(*, episode) -> Summary | None:
    """The summary subscribers see: a featured one first, else the newest published one."""
    return (
        Summary.objects.filter(episode=episode, editorial_status__in=VISIBLE_STATES)
        .annotate(
            featured_first=Case(
                When(editorial_status=EditorialStatus.FEATURED, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("featured_first", "-created_at", "-id")
        .first()
    )


def summary_is_outdated(*, summary: Summary) -> bool:
    """Made with another prompt version than the current one (computed here, never from the client)."""
    return summary.prompt_version != settings.SUMMARY_PROMPT_VERSION


def llm_usage_today() -> dict:
    day = timezone.now().astimezone(UTC).date()
    row = LLMUsage.objects.filter(day=day).first()
    used = row.used_tokens if row else 0
    return {
        "day": day.isoformat(),
        "used_tokens": used,
        "reserved_tokens": row.reserved_tokens if row else 0,
        "requests": row.requests if row else 0,
        "cost_usd": str(row.cost_usd) if row else "0",
        "budget_tokens": settings.LLM_DAILY_TOKEN_BUDGET,
        "remaining_tokens": max(settings.LLM_DAILY_TOKEN_BUDGET - used, 0),
    }
