from django.urls import path

from podcasts import views
from podcasts import views_exports

app_name = "podcasts"

urlpatterns = [
    path("", views.home, name="home"),
    path("podcasts/<int:pk>/", views.podcast_detail, name="podcast_detail"),
    path("episodes/<int:pk>/", views.episode_detail, name="episode_detail"),
    path("episodes/<int:pk>/transcript.<str:fmt>", views_exports.transcript_export, name="transcript_export"),
]
