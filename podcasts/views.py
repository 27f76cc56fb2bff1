"""Subscriber pages. Views stay thin: selectors read, services write."""

from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.numbers import MAX_PAGE, bounded_int
from config.ratelimits import limit
from podcasts import selectors
from podcasts.forms import FeedSubmissionForm, SignUpForm, SubscriptionForm
from podcasts.services import FeedIngestError, podcast_submit
from podcasts.subscribers import (
    subscription_create,
    subscription_delete,
    user_activate,
    user_sign_up,
)

PAGE_SIZE = 20


class SeeOther(HttpResponseRedirect):
    """303: after a POST the browser follows with a GET."""

    status_code = HTTPStatus.SEE_OTHER


def page_of(request: HttpRequest, object_list, per_page: int = PAGE_SIZE, paginator_class: type[Paginator] = Paginator):
    """The page of `object_list` named by ?page= (Paginator.get_page's rules for bad numbers),
    the number bounded first: 0 and below show the last page, like Django's."""
    number = bounded_int(request.GET.get("page"), default=1, minimum=0, maximum=MAX_PAGE)
    return paginator_class(object_list, per_page).get_page(number)


@limit("signup", "RATELIMIT_SIGNUP", key="ip")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("summaries:home")
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
    page = page_of(request, selectors.podcast_directory(user=request.user))
    return render(request, "podcasts/podcast_list.html", {"page_obj": page})


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
