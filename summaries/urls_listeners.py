"""Routes read by listeners' own apps, and the account page (included by config/urls.py)."""

from django.urls import path, re_path

from summaries import views_listeners as views
from summaries.tokens import FEED_TOKEN_PATTERN

app_name = "listeners"

urlpatterns = [
    re_path(rf"^feeds/(?P<token>{FEED_TOKEN_PATTERN})\.xml$", views.feed_all, name="feed_all"),
    re_path(
        rf"^feeds/(?P<token>{FEED_TOKEN_PATTERN})/(?P<podcast_id>[0-9]{{1,18}})\.xml$",
        views.feed_podcast_view,
        name="feed_podcast",
    ),
    re_path(
        rf"^feeds/(?P<token>{FEED_TOKEN_PATTERN})/transcripts/(?P<pk>[0-9]{{1,18}})\.(?P<fmt>vtt|srt|json)$",
        views.feed_transcript,
        name="feed_transcript",
    ),
    path("episodes/<int:pk>/chapters.json", views.episode_chapters_view, name="episode_chapters"),
    path("accounts/", views.account, name="account"),
    path("accounts/feed/rotate/", views.account_feed_rotate, name="account_feed_rotate"),
    path("accounts/feed/qr.svg", views.account_feed_qr, name="account_feed_qr"),
    path("accounts/api-tokens/", views.account_api_token_create, name="account_api_token_create"),
    path("accounts/api-tokens/<int:token_id>/revoke/", views.account_api_token_revoke, name="account_api_token_revoke"),
]
