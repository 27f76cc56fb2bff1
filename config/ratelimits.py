"""Rate limits (django-ratelimit) for the endpoints that cost something: login, sign-up,
feed submission, Regenerate. Rates come from settings (RATELIMIT_*), read per request.

Counters live in the default cache: Redis when REDIS_URL is set (shared by every
gunicorn worker and host), the in-process cache in the embedded default.
"""

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_ratelimit.decorators import ratelimit


def _setting_rate(name: str) -> Callable[[str, HttpRequest], str]:
    def rate(group: str, request: HttpRequest) -> str:
        return getattr(settings, name)

    return rate


def limit(group: str, setting: str, *, key: str = "user_or_ip"):
    """Block POSTs over the rate in `setting` for `group`: the view raises Ratelimited (429 page)."""
    return ratelimit(group=group, key=key, rate=_setting_rate(setting), method="POST", block=True)


def reset_address(group: str, request: HttpRequest) -> str:
    """The address a password reset is asked for, as Django's reset form matches it
    (case-insensitively), so "Bob@x" and "bob@x " share one counter."""
    return request.POST.get("email", "").strip().lower()[:254]


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """RATELIMIT_VIEW: 429 with a page a person can read (or JSON for the Regenerate button's fetch)."""
    message = "Too many attempts in a short time. Wait a minute and try again."
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"error": message}, status=HTTPStatus.TOO_MANY_REQUESTS)
    response = render(request, "429.html", {"message": message}, status=HTTPStatus.TOO_MANY_REQUESTS)
    response["Retry-After"] = "60"
    return response
