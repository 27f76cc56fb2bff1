"""One summary's requests to an LLM API, shared by the providers: a retry allowance for all of
them, a wall-clock deadline below the RQ job timeout, the daily token budget around each, and
the summed usage.

Retries happen here, not in the SDKs (which retry per request and obey any `retry-after`).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings

from summaries.llm.base import Budget, ProviderRejected, ProviderUnavailable, Usage

logger = logging.getLogger("castnotes.summaries")

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """How a failed request is handled: retried (within the allowance) or refused for good."""

    retryable: bool
    status: int | None
    retry_after: float | None = None


class RequestSession:
    def __init__(self, *, budget: Budget, max_retries: int, timeout: float, backoff: float, retry_after_max: float):
        self.budget = budget
        self.retries_left = max_retries
        self.timeout = timeout
        self.backoff = backoff
        self.retry_after_max = retry_after_max
        self.deadline = time.monotonic() + settings.SUMMARY_DEADLINE_SECONDS
        self.usage = Usage()

    @classmethod
    def from_settings(cls, *, budget: Budget, prefix: str) -> "RequestSession":
        """A session bounded by a provider's settings: `<prefix>_MAX_RETRIES`, `_TIMEOUT`,
        `_RETRY_BACKOFF` and `_RETRY_AFTER_MAX` (ANTHROPIC_..., OPENAI_...)."""
        return cls(
            budget=budget,
            max_retries=getattr(settings, f"{prefix}_MAX_RETRIES"),
            timeout=getattr(settings, f"{prefix}_TIMEOUT"),
            backoff=getattr(settings, f"{prefix}_RETRY_BACKOFF"),
            retry_after_max=getattr(settings, f"{prefix}_RETRY_AFTER_MAX"),
        )

    def call(
        self,
        send: Callable[[float], T],
        *,
        reserve_tokens: int,
        usage_of: Callable[[T], Usage],
        classify: Callable[[Exception], Failure | None],
    ) -> T:
        """`send(timeout)` until it returns or the allowance or deadline is spent.

        `classify` maps an exception of `send` to a Failure, or None for one that is not an
        API failure (it propagates unchanged, after the request is counted).
        """
        backoff_step = 0
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining < 1.0:
                raise ProviderUnavailable("summary deadline reached before the LLM answered")
            reservation = self.budget.reserve(reserve_tokens)  # BudgetExceeded propagates
            try:
                reply = send(min(self.timeout, remaining))
            except Exception as exc:
                # No usage came back: release the reservation, still count the request.
                self.budget.settle(reservation, Usage(requests=1))
                self.usage.requests += 1
                failure = classify(exc)
                if failure is None:
                    raise
                if not failure.retryable:
                    raise ProviderRejected(f"the API refused the request: {failure.status} {type(exc).__name__}") from exc
                if self.retries_left <= 0:
                    raise ProviderUnavailable(f"LLM unavailable after retries: {failure.status or type(exc).__name__}") from exc
                self.retries_left -= 1
                wait = failure.retry_after
                if wait is None:
                    wait = self.backoff * 2**backoff_step
                    backoff_step += 1
                wait = min(wait, self.retry_after_max, max(self.deadline - time.monotonic() - 1.0, 0.0))
                logger.info(
                    "llm_retry",
                    extra={"event": "llm_retry", "status": failure.status, "error": type(exc).__name__, "wait_s": round(wait, 3)},
                )
                time.sleep(wait)
                continue
            usage = usage_of(reply)
            self.budget.settle(reservation, usage)
            self.usage.add(usage)
            return reply


def retry_after(exc: Exception) -> float | None:
    """Seconds from a `retry-after-ms` or `retry-after` header of an SDK status error."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(float(headers.get(name)) * scale, 0.0)
        except (TypeError, ValueError):
            continue
    return None


def status_failure(exc: Any, *, retryable_status: frozenset[int]) -> Failure:
    """An SDK status error: retryable on `retryable_status` and 5xx unless `x-should-retry: false`."""
    status = exc.status_code
    if exc.response.headers.get("x-should-retry") == "false":
        return Failure(retryable=False, status=status)
    return Failure(retryable=status in retryable_status or status >= 500, status=status, retry_after=retry_after(exc))


RETRYABLE_STATUS = frozenset({408, 409, 429})


def sdk_classify(sdk: Any, exc: Exception) -> Failure | None:
    """A failure of the `anthropic` or `openai` SDK (both have the same error classes): status
    errors as status_failure, connection errors and timeouts retryable, other SDK errors
    permanent; None for an exception that is not the SDK's."""
    if isinstance(exc, sdk.APIStatusError):
        return status_failure(exc, retryable_status=RETRYABLE_STATUS)
    if isinstance(exc, sdk.APIConnectionError):  # includes APITimeoutError and refused connections
        return Failure(retryable=True, status=None)
    if isinstance(exc, sdk.APIError):
        return Failure(retryable=False, status=None)
    return None
