"""Reads of summaries that are more than a filter."""

from datetime import UTC

from django.conf import settings
from django.utils import timezone

from podcasts import selectors as podcast_selectors
from summaries.models import LLMUsage, Summary


def summary_visible_for_episode(*, episode) -> Summary | None:
    """The summary subscribers see: a featured one first, else the newest published one
    (one definition, podcasts.selectors.summary_current)."""
    return podcast_selectors.summary_current(episode_id=episode.pk)


def summary_is_outdated(*, summary: Summary) -> bool:
    """Made with another prompt version than the current one (computed here, never from the client)."""
    return podcast_selectors.summary_is_outdated(summary)


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
