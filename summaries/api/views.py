"""The JSON API (/api/v1/): the web's reads and writes for scripts and apps.

Each write calls the service the web view calls, with the same refusals and the
same rate-limit counters (django-ratelimit groups shared with the views):
401 no or bad token, 403 read-only token or not allowed, 404 not visible,
400 invalid, 429 over a limit. Nothing here reads another user's subscriptions,
deliveries or tokens: every per-user read filters on request.user.
"""

from http import HTTPStatus

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.shortcuts import get_object_or_404
from django_ratelimit.core import is_ratelimited
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urlcache import reverse_pk
from podcasts.models import Podcast, Subscription, Transcript
from podcasts.selectors import episodes_visible, podcast_directory, podcasts_visible
from podcasts.services import FeedIngestError, podcast_submit
from podcasts.subscribers import subscription_create, subscription_delete, user_may_regenerate
from podcasts.templatetags.castnotes import plain_text
from summaries.api import serializers as s
from summaries.chapters import chapters_document, episode_chapters, sponsor_spans
from summaries.regeneration import RegenerationRefused, regeneration_request
from summaries.selectors import (
    episode_live_state,
    episode_search,
    regeneration_pending,
    search_snippets,
    summaries_visible,
    summary_current,
    summary_is_outdated,
    summary_is_regenerable,
)

REFUSALS = {
    401: OpenApiResponse(s.ErrorSerializer, description="No token, or an invalid or revoked one."),
    404: OpenApiResponse(s.ErrorSerializer, description="No such visible object."),
}
WRITE_REFUSALS = {
    **REFUSALS,
    403: OpenApiResponse(s.ErrorSerializer, description="A read-only token, or not allowed."),
    429: OpenApiResponse(s.ErrorSerializer, description="Over the rate limit of the web form."),
}


def _over_rate_limit(request: Request, *, group: str, setting: str) -> bool:
    """The web views' limit (config.ratelimits.limit): same group, key and rate, so one counter."""
    return is_ratelimited(
        request=request,
        group=group,
        key="user_or_ip",
        rate=lambda group, request: getattr(settings, setting),
        method="POST",
        increment=True,
    )


def _throttled() -> exceptions.Throttled:
    return exceptions.Throttled(wait=60, detail="Too many attempts in a short time. Wait a minute and try again.")


# --- Podcasts ----------------------------------------------------------------------


def _subscription_state(*, user, podcast: Podcast) -> dict:
    subscription = Subscription.objects.filter(user=user, podcast=podcast).first()
    return {
        "podcast_id": podcast.pk,
        "subscribed": subscription is not None,
        "notify_new_episodes": subscription.notify_new_episodes if subscription else None,
    }


@extend_schema(tags=["podcasts"], responses={200: s.PodcastSerializer(many=True), **REFUSALS})
class PodcastList(generics.ListAPIView):
    """The podcast directory; `subscribed` is true for your own subscriptions."""

    serializer_class = s.PodcastSerializer

    @extend_schema(parameters=[OpenApiParameter("subscribed", OpenApiTypes.BOOL, description="Only your subscriptions.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        podcasts = podcast_directory(user=self.request.user)
        if self.request.query_params.get("subscribed") in ("true", "1"):
            podcasts = podcasts.filter(subscribed=True)
        return podcasts


@extend_schema(tags=["podcasts"], responses={200: s.PodcastSerializer, **REFUSALS})
class PodcastDetail(generics.RetrieveAPIView):
    serializer_class = s.PodcastSerializer

    def get_queryset(self):
        return podcast_directory(user=self.request.user)


@extend_schema(
    tags=["podcasts"],
    request=s.SubscriptionInputSerializer,
    responses={200: s.SubscriptionSerializer, **WRITE_REFUSALS},
)
class PodcastSubscribe(APIView):
    """Subscribe (again: updates `notify_new_episodes`); the web's Subscribe button."""

    def post(self, request: Request, pk: int) -> Response:
        podcast = get_object_or_404(podcasts_visible(), pk=pk)
        data = s.SubscriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription_create(
            user=request.user, podcast=podcast, notify_new_episodes=data.validated_data.get("notify_new_episodes", False)
        )
        return Response(_subscription_state(user=request.user, podcast=podcast))


@extend_schema(tags=["podcasts"], request=None, responses={200: s.SubscriptionSerializer, **WRITE_REFUSALS})
class PodcastUnsubscribe(APIView):
    def post(self, request: Request, pk: int) -> Response:
        podcast = get_object_or_404(podcasts_visible(), pk=pk)
        subscription_delete(user=request.user, podcast=podcast)
        return Response(_subscription_state(user=request.user, podcast=podcast))


# --- Episodes ----------------------------------------------------------------------


def _episodes_with_tldr():
    current_tldr = summaries_visible().filter(episode_id=OuterRef("pk")).annotate(tldr=KeyTextTransform("tldr", "content"))
    return (
        episodes_visible()
        .select_related("podcast")
        .only(
            "id",
            "title",
            "published_at",
            "duration_seconds",
            "enclosure_url",
            "enclosure_type",
            "pipeline_status",
            "podcast__id",
            "podcast__title",
        )
        .annotate(current_tldr=Subquery(current_tldr.values("tldr")[:1]))
        .order_by("-published_at", "-id")
    )


@extend_schema(
    tags=["episodes"],
    parameters=[s.EpisodeFilterSerializer],
    responses={200: s.EpisodeSerializer(many=True), 400: s.ErrorSerializer, **REFUSALS},
)
class EpisodeList(generics.ListAPIView):
    """Visible episodes, newest first, with their current TL;DR."""

    serializer_class = s.EpisodeSerializer

    def get_queryset(self):
        filters = s.EpisodeFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        episodes = _episodes_with_tldr()
        if "podcast" in wanted:
            episodes = episodes.filter(podcast_id=wanted["podcast"])
        if "since" in wanted:
            episodes = episodes.filter(published_at__gte=wanted["since"])
        if "status" in wanted:
            episodes = episodes.filter(pipeline_status=wanted["status"])
        if wanted.get("subscribed"):
            episodes = episodes.filter(podcast__subscriptions__user=self.request.user)
        return episodes


def _summary_data(summary) -> dict | None:
    if summary is None:
        return None
    content = summary.content or {}
    return {
        "tldr": content.get("tldr", ""),
        "key_points": content.get("key_points", []),
        "quotes": content.get("quotes", []),
        "chapters": content.get("chapters", []),
        "topics": content.get("topics", []),
        "prompt_version": summary.prompt_version,
        "provider": summary.provider,
        "model": summary.model,
        "outdated": summary_is_outdated(summary),
        "created_at": summary.created_at,
    }


@extend_schema(tags=["episodes"], responses={200: s.EpisodeDetailSerializer, **REFUSALS})
class EpisodeDetail(APIView):
    """An episode with its current summary, chapters, sponsor spans and pipeline status."""

    def get(self, request: Request, pk: int) -> Response:
        episode = get_object_or_404(episodes_visible().select_related("podcast"), pk=pk)
        summary = summary_current(episode_id=episode.pk)
        chapters = episode_chapters(episode=episode, summary=summary)
        may_regenerate = summary_is_regenerable(summary) and user_may_regenerate(user=request.user)
        pending = regeneration_pending(episode_id=episode.pk, user=request.user)
        data = {
            "id": episode.pk,
            "podcast": episode.podcast,
            "title": episode.title,
            "description": plain_text(episode.description),
            "link": episode.link,
            "published_at": episode.published_at,
            "duration_seconds": episode.duration_seconds,
            "enclosure_url": episode.enclosure_url,
            "enclosure_type": episode.enclosure_type,
            "summary": _summary_data(summary),
            "chapters": chapters_document(episode=episode, chapters=chapters)["chapters"],
            "chapters_url": request.build_absolute_uri(reverse_pk("listeners:episode_chapters", episode.pk)),
            "sponsor_spans": sponsor_spans(episode_id=episode.pk),
            "pipeline": {
                "status": episode.pipeline_status,
                "status_changed_at": episode.status_changed_at,
                "attempts": episode.attempts,
                "live": episode_live_state(episode_id=episode.pk, user=request.user).as_json(),
            },
            "transcript_available": Transcript.objects.filter(episode_id=episode.pk).exists(),
            "regeneration": {
                "may_regenerate": bool(may_regenerate and pending is None),
                "pending_delivery_id": pending.pk if pending else None,
            },
        }
        return Response(s.EpisodeDetailSerializer(data).data)


@extend_schema(tags=["episodes"], responses={200: s.TranscriptSerializer, **REFUSALS})
class EpisodeTranscript(APIView):
    """The stored transcript (the web's transcript export, as JSON)."""

    def get(self, request: Request, pk: int) -> Response:
        transcript = get_object_or_404(Transcript.objects.filter(episode__in=episodes_visible()), episode_id=pk)
        segments = [{"start": seg["start"], "end": seg["end"], "text": seg["text"]} for seg in transcript.segments]
        data = {
            "episode_id": transcript.episode_id,
            "source": transcript.source,
            "language": transcript.language,
            "duration": transcript.duration,
            "segments": segments,
        }
        return Response(s.TranscriptSerializer(data).data)


@extend_schema(
    tags=["episodes"],
    request=None,
    responses={
        202: s.RegenerationSerializer,
        400: OpenApiResponse(s.ErrorSerializer, description="Not outdated, or featured by a curator."),
        **WRITE_REFUSALS,
        403: OpenApiResponse(s.ErrorSerializer, description="A read-only token, or not premium or staff."),
        429: OpenApiResponse(s.ErrorSerializer, description="The daily regeneration limit, or the rate limit."),
    },
)
class EpisodeRegenerate(APIView):
    """The Regenerate button: the same checks in the same order (summaries.regeneration)."""

    def post(self, request: Request, pk: int) -> Response:
        if _over_rate_limit(request, group="regenerate", setting="RATELIMIT_REGENERATE"):
            raise _throttled()
        try:
            delivery = regeneration_request(episode_id=pk, user=request.user)
        except RegenerationRefused as refusal:
            return Response({"detail": refusal.message}, status=refusal.status)
        # Without Redis (the embedded default) the job already ran on commit: report its real status.
        delivery.refresh_from_db(fields=["status"])
        return Response({"delivery_id": delivery.pk, "status": delivery.status}, status=HTTPStatus.ACCEPTED)


# --- Search and feed submission -------------------------------------------------------


@extend_schema(
    tags=["search"],
    parameters=[s.SearchQuerySerializer],
    responses={200: s.SearchResultSerializer(many=True), 400: s.ErrorSerializer, **REFUSALS},
)
class Search(generics.GenericAPIView):
    """The search page's results: titles, current summaries and transcripts, best first."""

    serializer_class = s.SearchResultSerializer

    def get(self, request: Request) -> Response:
        query = s.SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data["q"]
        page = self.paginate_queryset(episode_search(query=q))
        snippets = search_snippets(episodes=page, query=q)
        for card in page:
            card.snippet = [{"text": text, "marked": marked} for text, marked in snippets.get(card.pk) or ()]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(
    tags=["podcasts"],
    request=s.FeedSubmissionInputSerializer,
    responses={
        201: s.FeedSubmissionSerializer,
        200: OpenApiResponse(s.FeedSubmissionSerializer, description="The feed is already in the directory."),
        400: OpenApiResponse(description="Not an http(s) URL, or an address Castnotes does not fetch."),
        **WRITE_REFUSALS,
    },
)
class FeedSubmission(APIView):
    """Suggest a feed: a curator reviews it before it is added (the web's Submit a feed)."""

    def post(self, request: Request) -> Response:
        if _over_rate_limit(request, group="feed_submit", setting="RATELIMIT_FEED_SUBMIT"):
            raise _throttled()
        data = s.FeedSubmissionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            podcast = podcast_submit(feed_url=data.validated_data["feed_url"], user=request.user)
        except FeedIngestError as exc:
            raise exceptions.ValidationError({"feed_url": [str(exc)]}) from None
        if podcast.status == Podcast.Status.ACTIVE:
            return Response({"status": podcast.status, "podcast_id": podcast.pk}, status=HTTPStatus.OK)
        return Response({"status": Podcast.Status.PENDING_APPROVAL.value, "podcast_id": None}, status=HTTPStatus.CREATED)
