"""Subscriber pages. Views stay thin: selectors read, services write."""

from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.numbers import bounded_int
from config.ratelimits import limit
from podcasts import selectors
from podcasts.forms import FeedSubmissionForm, SearchForm, SignUpForm, SubscriptionForm
from podcasts.services import FeedIngestError, podcast_submit
from podcasts.subscribers import (
    subscription_create,
    subscription_delete,
    user_activate,
    user_may_regenerate,
    user_sign_up,
)

PAGE_SIZE = 20


class SeeOther(HttpResponseRedirect):
    """303: after a POST the browser follows with a GET."""

    status_code = HTTPStatus.SEE_OTHER


def _page(request: HttpRequest, queryset, per_page: int = PAGE_SIZE):
    paginator_class = selectors.CardPaginator if isinstance(queryset, selectors.EpisodeCards) else Paginator
    number = bounded_int(request.GET.get("page"), default=1, minimum=0, maximum=selectors.MAX_PAGE)
    return paginator_class(queryset, per_page).get_page(number)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        latest = list(selectors.latest_episodes()[:6])
        return render(request, "podcasts/landing.html", {"latest": latest})
    page = _page(request, selectors.home_stream(user=request.user))
    return render(request, "podcasts/home.html", {"page_obj": page})


@limit("signup", "RATELIMIT_SIGNUP", key="ip")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("podcasts:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The same answer whether or not the address already has an account (user_sign_up).
        user_sign_up(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        return SeeOther(reverse("podcasts:signup_done"))
    return render(request, "registration/signup.html", {"form": form})


@require_GET
def signup_done(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/signup_done.html")


@require_GET
def signup_activate(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = user_activate(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "registration/signup_activate_invalid.html", status=HTTPStatus.BAD_REQUEST)
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    messages.success(request, "Welcome to Castnotes. Subscribe to a podcast to fill your home page.")
    return SeeOther("/")


@require_GET
def podcast_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.podcast_directory(user=request.user))
    return render(request, "podcasts/podcast_list.html", {"page_obj": page})


@require_GET
def podcast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.podcast_page(pk=pk, user=request.user)
    if found is None:
        raise Http404("No such podcast.")
    podcast, subscription = found
    page = _page(request, selectors.podcast_episodes(podcast=podcast))
    return render(
        request,
        "podcasts/podcast_detail.html",
        {"podcast": podcast, "page_obj": page, "subscription": subscription},
    )


@login_required
@require_POST
def podcast_subscribe(request: HttpRequest, pk: int) -> HttpResponse:
    podcast = get_object_or_404(selectors.podcasts_visible(), pk=pk)
    form = SubscriptionForm(request.POST)
    notify = form.is_valid() and form.cleaned_data["notify_new_episodes"]
    subscription_create(user=request.user, podcast=podcast, notify_new_episodes=notify)
    messages.success(request, f"Subscribed to {podcast}.")
    return SeeOther(podcast.get_absolute_url())


@login_required
@require_POST
def podcast_unsubscribe(request: HttpRequest, pk: int) -> HttpResponse:
    podcast = get_object_or_404(selectors.podcasts_visible(), pk=pk)
    if subscription_delete(user=request.user, podcast=podcast):
        messages.success(request, f"Unsubscribed from {podcast}.")
    return SeeOther(podcast.get_absolute_url())


@login_required
@limit("feed_submit", "RATELIMIT_FEED_SUBMIT")
@require_http_methods(["GET", "POST"])
def feed_submit(request: HttpRequest) -> HttpResponse:
    form = FeedSubmissionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            podcast = podcast_submit(feed_url=form.cleaned_data["feed_url"], user=request.user)
        except FeedIngestError as exc:
            form.add_error("feed_url", str(exc))
        else:
            if podcast.status == podcast.Status.ACTIVE:
                messages.info(request, "That feed is already in the directory.")
                return SeeOther(podcast.get_absolute_url())
            messages.success(request, "Thanks: a curator will review the feed before it is added.")
            return SeeOther("/podcasts/submit/")
    return render(request, "podcasts/feed_submit.html", {"form": form})


@require_GET
def episode_detail(request: HttpRequest, pk: int) -> HttpResponse:
    episode = selectors.episode_page(pk=pk)
    if episode is None:
        raise Http404("No such episode.")
    summary = selectors.summary_current(episode_id=episode.pk)
    transcript = getattr(episode, "transcript", None)
    outdated = selectors.summary_is_outdated(summary)
    may_regenerate = selectors.summary_is_regenerable(summary) and user_may_regenerate(user=request.user)
    pending = selectors.regeneration_pending(episode_id=episode.pk, user=request.user) if may_regenerate else None
    return render(
        request,
        "podcasts/episode_detail.html",
        {
            "episode": episode,
            "summary": summary,
            "content": summary.content if summary else {},
            "transcript": transcript,
            "transcript_lines": selectors.transcript_lines(transcript),
            "outdated": outdated,
            "may_regenerate": may_regenerate,
            "pending": pending,
        },
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = _page(request, selectors.episode_search(query=query)) if query else None
    snippets = selectors.search_snippets(episodes=list(page.object_list), query=query) if page else {}
    results = [(episode, snippets.get(episode.pk)) for episode in page.object_list] if page else []
    for episode, snippet in results:
        episode.snippet = snippet
    return render(
        request,
        "podcasts/search.html",
        {"form": form, "query": query, "page_obj": page, "results": results},
    )
