import functools

import django_rq.urls
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.urls import URLPattern, include, path

from config.ratelimits import limit, reset_address
from config.views import healthz


def _superusers_only(view):
    """django-rq only checks is_staff; its dashboard is for superusers (403 for curators and staff)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return admin.site.admin_view(wrapped)


_rq_urlpatterns = [
    URLPattern(p.pattern, _superusers_only(p.callback), p.default_args, p.name) for p in django_rq.urls.urlpatterns
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/rq/", include((_rq_urlpatterns, "django_rq"))),
    path("admin/pipeline/", include("summaries.pipeline_admin")),
    path("admin/", admin.site.urls),
    path("accounts/login/", limit("login", "RATELIMIT_LOGIN", key="ip")(auth_views.LoginView.as_view()), name="login"),
    # Each POST may send an email: limited per client and per address asked for.
    path(
        "accounts/password_reset/",
        limit("password_reset", "RATELIMIT_PASSWORD_RESET", key="ip")(
            limit("password_reset_address", "RATELIMIT_PASSWORD_RESET_ADDRESS", key=reset_address)(
                auth_views.PasswordResetView.as_view()
            )
        ),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("summaries.api.urls")),
    path("", include("summaries.urls_listeners")),
    path("", include("podcasts.urls")),
    path("", include("summaries.urls")),
]
