"""The pages that show summaries (home, podcast, episode, search) and the Regenerate
button's POST /episodes/<id>/regenerate/ (DESIGN.md "Regeneration"). Views stay
thin: selectors read, services write."""

from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from config.ratelimits import limit
from config.urlcache import reverse_pk
from podcasts.forms import SearchForm
from podcasts.selectors import transcript_lines
from podcasts.subscribers import user_may_regenerate
from podcasts.views import SeeOther, page_of
from summaries import selectors
from summaries.regeneration import RegenerationRefused, regeneration_request


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


@require_GET
def episode_detail(request: HttpRequest, pk: int) -> HttpResponse:
    episode = selectors.episode_page(pk=pk)
    if episode is None:
        raise Http404("No such episode.")
    summary = selectors.summary_current(episode_id=episode.pk)
    transcript = getattr(episode, "transcript", None)
    outdated = selectors.summary_is_outdated(summary)
    may_regenerate = selectors.summary_is_regenerable(summary) and user_may_regenerate(user=request.user)
    audio_url = ""
    if episode.enclosure_url:
        audio_url = reverse_pk("podcasts:episode_audio", episode.pk) if episode.audio_path else episode.enclosure_url
    pending = selectors.regeneration_pending(episode_id=episode.pk, user=request.user) if may_regenerate else None
    return render(
        request,
        "summaries/episode_detail.html",
        {
            "episode": episode,
            "audio_url": audio_url,
            "summary": summary,
            "content": summary.content if summary else {},
            "transcript": transcript,
            "transcript_lines": transcript_lines(transcript),
            "outdated": outdated,
            "may_regenerate": may_regenerate,
            "pending": pending,
        },
    )


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
