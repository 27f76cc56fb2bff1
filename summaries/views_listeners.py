"""What a listener's own podcast app reads, and the account page that hands out its secrets.

/feeds/<token>.xml, /feeds/<token>/<podcast_id>.xml, /feeds/<token>/transcripts/<id>.<fmt>,
/episodes/<id>/chapters.json and /accounts/ (docs/api.md). Every failure of a feed
token is the same plain 404, so a response never tells a wrong token from a
rotated one or another user's podcast.
"""

import io
import json
from http import HTTPStatus

import segno
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from podcasts.models import Transcript
from podcasts.selectors import episodes_visible, podcasts_visible
from podcasts.transcripts import export_podcast_json, export_srt, export_vtt
from podcasts.views import SeeOther
from summaries.chapters import JSON_CHAPTERS_CONTENT_TYPE, chapters_document, episode_chapters
from summaries.models import ApiToken
from summaries.private_feeds import FeedLinks, feed_build, feed_etag, feed_podcast, feed_render
from summaries.selectors import summary_current
from summaries.tokens import (
    api_token_create,
    api_token_revoke,
    feed_token_get_or_create,
    feed_token_rotate,
    feed_token_user,
)

# Podcast apps poll often; a private feed may be kept by the app, never by a shared cache.
FEED_MAX_AGE = 300
CHAPTERS_MAX_AGE = 300

TRANSCRIPT_FORMATS = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "json": "application/json; charset=utf-8",
}


def _not_found() -> HttpResponse:
    return HttpResponseNotFound("Not found.\n", content_type="text/plain; charset=utf-8")


def _origin(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _conditional(request: HttpRequest, response: HttpResponse, *, etag: str, last_modified, max_age: int, private: bool):
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    patch_cache_control(response, private=private, public=not private, max_age=max_age)
    return get_conditional_response(
        request,
        etag=etag,
        last_modified=int(last_modified.timestamp()) if last_modified is not None else None,
        response=response,
    )


def _feed_response(request: HttpRequest, *, token: str, podcast_id: int | None) -> HttpResponse:
    user = feed_token_user(token=token)
    if user is None:
        return _not_found()
    podcast = None
    if podcast_id is not None:
        podcast = feed_podcast(user=user, podcast_id=podcast_id)
        if podcast is None:
            return _not_found()
    feed = feed_build(user=user, podcast=podcast)
    body = feed_render(feed=feed, links=FeedLinks(origin=_origin(request), token=token))
    response = HttpResponse(body, content_type="application/rss+xml; charset=utf-8")
    response["X-Robots-Tag"] = "noindex"
    return _conditional(
        request, response, etag=feed_etag(body), last_modified=feed.last_modified, max_age=FEED_MAX_AGE, private=True
    )


@require_safe
def feed_all(request: HttpRequest, token: str) -> HttpResponse:
    return _feed_response(request, token=token, podcast_id=None)


@require_safe
def feed_podcast_view(request: HttpRequest, token: str, podcast_id: str) -> HttpResponse:
    return _feed_response(request, token=token, podcast_id=int(podcast_id))


@require_safe
def feed_transcript(request: HttpRequest, token: str, pk: str, fmt: str) -> HttpResponse:
    """The signed-in export of a transcript (podcasts.views_exports), authorised by the feed token."""
    pk = int(pk)
    if fmt not in TRANSCRIPT_FORMATS or feed_token_user(token=token) is None:
        return _not_found()
    transcript = Transcript.objects.filter(episode__in=episodes_visible().filter(pk=pk)).first()
    if transcript is None:
        return _not_found()
    if fmt == "vtt":
        body = export_vtt(transcript.segments)
    elif fmt == "srt":
        body = export_srt(transcript.segments)
    else:
        body = export_podcast_json(transcript.segments)
    response = HttpResponse(body, content_type=TRANSCRIPT_FORMATS[fmt])
    response["Content-Disposition"] = f'inline; filename="episode-{pk}-transcript.{fmt}"'
    response["X-Robots-Tag"] = "noindex"
    return _conditional(
        request, response, etag=feed_etag(body), last_modified=transcript.created_at, max_age=FEED_MAX_AGE, private=True
    )


@require_safe
def episode_chapters_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Podcasting 2.0 JSON Chapters of a visible episode (public, like the episode page)."""
    episode = episodes_visible().select_related("podcast").filter(pk=pk).first()
    if episode is None:
        raise Http404("No such episode.")
    summary = summary_current(episode_id=episode.pk)
    document = chapters_document(episode=episode, chapters=episode_chapters(episode=episode, summary=summary))
    body = json.dumps(document, ensure_ascii=False)
    response = HttpResponse(body, content_type=JSON_CHAPTERS_CONTENT_TYPE)
    response["Access-Control-Allow-Origin"] = "*"  # web players fetch chapters from other origins
    stamps = [episode.updated_at] + ([summary.created_at, summary.editorial_changed_at] if summary else [])
    return _conditional(
        request, response, etag=feed_etag(body), last_modified=max(stamps), max_age=CHAPTERS_MAX_AGE, private=False
    )


# --- The account page ----------------------------------------------------------------


def _account_context(request: HttpRequest, **extra) -> dict:
    user = request.user
    token = feed_token_get_or_create(user=user)
    links = FeedLinks(origin=_origin(request), token=token.token)
    podcasts = podcasts_visible().filter(subscriptions__user=user).order_by("title", "id")
    return {
        "feed_url": links.feed(),
        "podcast_feeds": [(podcast, links.feed(podcast)) for podcast in podcasts],
        "api_tokens": ApiToken.objects.filter(user=user, revoked_at__isnull=True),
        **extra,
    }


@never_cache
@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "summaries/account.html", _account_context(request))


@login_required
@require_POST
def account_feed_rotate(request: HttpRequest) -> HttpResponse:
    feed_token_rotate(user=request.user)
    return SeeOther(reverse("listeners:account") + "#feeds")


@never_cache
@login_required
@require_GET
def account_feed_qr(request: HttpRequest) -> HttpResponse:
    """The feed URL as a QR code (SVG), for a phone's podcast app; ?podcast=<id> for one podcast."""
    token = feed_token_get_or_create(user=request.user)
    links = FeedLinks(origin=_origin(request), token=token.token)
    podcast = None
    if request.GET.get("podcast"):
        try:
            podcast = feed_podcast(user=request.user, podcast_id=int(request.GET["podcast"]))
        except ValueError:
            podcast = None
        if podcast is None:
            raise Http404("No such subscription.")
    buffer = io.BytesIO()
    segno.make(links.feed(podcast), error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@never_cache
@login_required
@require_POST
def account_api_token_create(request: HttpRequest) -> HttpResponse:
    """Make an API token and show it once, in this response only (never in a message or the session)."""
    name = (request.POST.get("name") or "").strip()[:100]
    created = api_token_create(user=request.user, name=name, read_only=bool(request.POST.get("read_only")))
    return render(
        request,
        "summaries/account.html",
        _account_context(request, new_token=created.plaintext, new_token_row=created.token),
        status=HTTPStatus.CREATED,
    )


@login_required
@require_POST
def account_api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if not api_token_revoke(user=request.user, token_id=token_id):
        raise Http404("No such token.")
    return SeeOther(reverse("listeners:account") + "#api-tokens")
