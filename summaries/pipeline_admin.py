"""/admin/pipeline/: curators see and steer the pipeline (docs/curation.md "The pipeline page").

Counts by stage, what is running (progress, for how long), what failed (the
error), what waits and why; retry, cancel, re-transcribe and re-summarize go
through summaries.steering.episode_steer, one CuratorAction each. Open to staff
with podcasts.steer_pipeline (the Curators group has it); the RQ dashboard stays
superuser-only (config/urls.py).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from podcasts.views import SeeOther
from summaries.selectors import pipeline_overview
from summaries.steering import STEER_ACTIONS, SteerRefused, episode_steer

PERMISSION = "podcasts.steer_pipeline"


def _check(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


@require_http_methods(["GET"])
def pipeline_page(request: HttpRequest) -> HttpResponse:
    _check(request)
    context = {
        **admin.site.each_context(request),
        **pipeline_overview(),
        "title": "Pipeline",
        "actions": STEER_ACTIONS,
    }
    return render(request, "admin/pipeline.html", context)


@require_http_methods(["POST"])
def pipeline_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _check(request)
    try:
        done = episode_steer(episode_id=pk, action=action, actor=request.user, reason=request.POST.get("reason", "").strip())
    except SteerRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Episode {pk}: {done}.")
    return SeeOther(reverse("pipeline:page"))


app_name = "pipeline"
urlpatterns = [
    path("", admin.site.admin_view(pipeline_page), name="page"),
    path("episodes/<int:pk>/<str:action>/", admin.site.admin_view(pipeline_action), name="action"),
]
