"""POST /episodes/<id>/regenerate/: the Regenerate button (DESIGN.md "Regeneration")."""

from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from podcasts.views import SeeOther
from summaries.regeneration import RegenerationRefused, regeneration_request


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
def episode_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    """Refusals in order: login, 403, 404, 400 (not outdated), 429 (daily limit).

    An HTML form post redirects back to the episode (303); `Accept: application/json`
    gets 202 {"delivery_id", "status"}.
    """
    episode_url = reverse("podcasts:episode_detail", args=[pk])
    if not request.user.is_authenticated:
        if _wants_json(request):
            return JsonResponse({"error": "Log in to regenerate summaries."}, status=HTTPStatus.UNAUTHORIZED)
        return redirect_to_login(episode_url)
    try:
        delivery = regeneration_request(episode_id=pk, user=request.user)
    except RegenerationRefused as refusal:
        if _wants_json(request):
            return JsonResponse({"error": refusal.message}, status=refusal.status)
        return render(
            request,
            "summaries/regenerate_refused.html",
            {"message": refusal.message, "episode_url": episode_url if refusal.status != 404 else None},
            status=refusal.status,
        )
    # Without Redis (the embedded default) the job already ran on commit: report its real status.
    delivery.refresh_from_db(fields=["status"])
    if _wants_json(request):
        return JsonResponse({"delivery_id": delivery.pk, "status": delivery.status}, status=HTTPStatus.ACCEPTED)
    if delivery.status == delivery.Status.SENT:
        messages.success(request, "Regenerated: this is the new summary.")
        return SeeOther(episode_url)
    messages.info(request, "Regeneration pending: the new summary will replace this one when it is ready.")
    return SeeOther(episode_url)
