"""/api/v1/ (included by config/urls.py): the JSON API, its OpenAPI schema and docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from summaries.api import views

app_name = "api"


class SchemaView(SpectacularAPIView):
    """The schema describes the API; it shows no one's data, so it needs no token."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class DocsView(SpectacularSwaggerSplitView):
    authentication_classes = ()
    permission_classes = (AllowAny,)


urlpatterns = [
    path("podcasts/", views.PodcastList.as_view(), name="podcast_list"),
    path("podcasts/<int:pk>/", views.PodcastDetail.as_view(), name="podcast_detail"),
    path("podcasts/<int:pk>/subscribe/", views.PodcastSubscribe.as_view(), name="podcast_subscribe"),
    path("podcasts/<int:pk>/unsubscribe/", views.PodcastUnsubscribe.as_view(), name="podcast_unsubscribe"),
    path("episodes/", views.EpisodeList.as_view(), name="episode_list"),
    path("episodes/<int:pk>/", views.EpisodeDetail.as_view(), name="episode_detail"),
    path("episodes/<int:pk>/transcript/", views.EpisodeTranscript.as_view(), name="episode_transcript"),
    path("episodes/<int:pk>/regenerate/", views.EpisodeRegenerate.as_view(), name="episode_regenerate"),
    path("search/", views.Search.as_view(), name="search"),
    path("feeds/", views.FeedSubmission.as_view(), name="feed_submission"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
]
