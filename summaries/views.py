"""The pages that show summaries (home, podcast, episode, search) and the Regenerate
button's POST /episodes/<id>/regenerate/ (DESIGN.md "Regeneration"). Views stay
thin: selectors read, services write."""

import hashlib
import json
from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from config.ratelimits import limit
from config.urlcache import reverse_pk
from podcasts.ad_spans import transcript_ad_ranges
from podcasts.forms import SearchForm
from podcasts.selectors import transcript_lines
from podcasts.subscribers import user_may_regenerate
from podcasts.views import SeeOther, page_of
from summaries import selectors
from summaries.context import ad_spans_key
from summaries.regeneration import RegenerationRefused, regeneration_request
from summaries.status import episode_status_of


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        latest = list(selectors.latest_episodes()[:6])
        return render(request, "summaries/landing.html", {"latest": latest})
    page = page_of(request, selectors.home_stream(user=request.user), paginator_class=selectors.CardPaginator)
    return render(request, "summaries/home.html", {"page_obj": page})


@require_GET
def podcast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.podcast_page(pk=pk, user=request.user)
    if found is None:
        raise Http404("No such podcast.")
    podcast, subscription = found
    page = page_of(request, selectors.podcast_episodes(podcast=podcast), paginator_class=selectors.CardPaginator)
    return render(
        request,
        "summaries/podcast_detail.html",
        {"podcast": podcast, "page_obj": page, "subscription": subscription},
    )


def _episode_context(request: HttpRequest, episode) -> dict:
    """What the episode page and its live fragment show of the summary and the pipeline."""
    summary = selectors.summary_current(episode_id=episode.pk)
    transcript = getattr(episode, "transcript", None)
    ad_ranges = transcript_ad_ranges(transcript_id=transcript.pk) if transcript is not None else []
    current_ads = ad_spans_key((ad.start, ad.end) for ad in ad_ranges)
    outdated = selectors.summary_is_outdated(summary, current_ads=current_ads)
    may_regenerate = selectors.summary_is_regenerable(summary, current_ads=current_ads) and user_may_regenerate(user=request.user)
    audio_url = ""
    if episode.enclosure_url:
        audio_url = reverse_pk("podcasts:episode_audio", episode.pk) if episode.audio_path else episode.enclosure_url
    pending = selectors.regeneration_pending(episode_id=episode.pk, user=request.user) if may_regenerate else None
    status = episode_status_of(episode, staff=request.user.is_staff)
    return {
        "episode": episode,
        "audio_url": audio_url,
        "ad_ranges": ad_ranges,
        "ad_spans": [{"start": ad.start, "end": ad.end, "label": ad.label} for ad in ad_ranges],
        "summary": summary,
        "content": summary.content if summary else {},
        "outdated": outdated,
        "may_regenerate": may_regenerate,
        "pending": pending,
        "status": status,
        "poll": live_poll(request, status=status, pending=pending is not None),
    }


def live_poll(request: HttpRequest, *, status, pending: bool) -> dict | None:
    """The live fragment's next poll, or None once nothing more will change on its own.

    Every poll waits longer than the one before (2 s, growing by half each time, at
    most POLL_MAX_SECONDS): a long transcription is not polled every 2 s for an hour.
    """
    if status.final and not pending:
        return None
    try:
        count = min(max(int(request.GET.get("poll", 0)), 0), 100)
    except ValueError:
        count = 0
    return {"next": count + 1, "ms": round(min(POLL_FIRST_SECONDS * 1.5**count, POLL_MAX_SECONDS) * 1000)}


POLL_FIRST_SECONDS = 2.0
POLL_MAX_SECONDS = 30.0


@require_GET
def episode_detail(request: HttpRequest, pk: int) -> HttpResponse:
    episode = selectors.episode_page(pk=pk)
    if episode is None:
        raise Http404("No such episode.")
    transcript = getattr(episode, "transcript", None)
    context = _episode_context(request, episode)
    context.update({"transcript": transcript, "transcript_lines": transcript_lines(transcript)})
    return render(request, "summaries/episode_detail.html", context)


@require_GET
def episode_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The episode page's live part (status, summary, Regenerate), polled by htmx while
    work is in flight. Opened directly (not by htmx), it sends the browser to the page."""
    if not request.htmx:
        return redirect(reverse_pk("summaries:episode_detail", pk))
    episode = selectors.episode_page(pk=pk)
    if episode is None:
        raise Http404("No such episode.")
    response = render(request, "summaries/_episode_live.html", _episode_context(request, episode))
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
def episode_status(request: HttpRequest, pk: int) -> HttpResponse:
    """GET /episodes/<id>/status: {"stage", "progress", "detail", "updated_at",
    "summary_ready", "regeneration_pending"} for anyone who may see the episode, in
    one query. Cheap to poll: private, 2 s max-age, and an ETag (304 when unchanged)."""
    state = selectors.episode_live_state(episode_id=pk, user=request.user)
    if state is None:
        raise Http404("No such episode.")
    payload = state.as_json()
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=STATUS_MAX_AGE)
    patch_vary_headers(response, ["Cookie"])
    return response


STATUS_MAX_AGE = 2


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = page_of(request, selectors.episode_search(query=query)) if query else None
    snippets = selectors.search_snippets(episodes=list(page.object_list), query=query) if page else {}
    results = [(episode, snippets.get(episode.pk)) for episode in page.object_list] if page else []
    for episode, snippet in results:
        episode.snippet = snippet
    return render(
        request,
        "summaries/search.html",
        {"form": form, "query": query, "page_obj": page, "results": results},
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@limit("regenerate", "RATELIMIT_REGENERATE")
@require_POST
def episode_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    """Refusals in order: login, 403, 404, 400 (not outdated), 429 (daily limit).

    An HTML form post redirects back to the episode (303); `Accept: application/json`
    gets 202 {"delivery_id", "status"}.
    """
    episode_url = reverse("summaries:episode_detail", args=[pk])
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
