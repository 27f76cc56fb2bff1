from django.urls import path

from summaries import views

app_name = "summaries"

urlpatterns = [
    path("", views.home, name="home"),
    path("podcasts/<id:pk>/", views.podcast_detail, name="podcast_detail"),
    path("episodes/<id:pk>/", views.episode_detail, name="episode_detail"),
    path("episodes/<id:pk>/status", views.episode_status, name="episode_status"),
    path("episodes/<id:pk>/live/", views.episode_live, name="episode_live"),
    path("episodes/<id:pk>/regenerate/", views.episode_regenerate, name="episode_regenerate"),
    path("search/", views.search, name="search"),
]
