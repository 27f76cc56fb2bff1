from django.urls import path

from summaries import views

app_name = "summaries"

urlpatterns = [
    path("episodes/<id:pk>/regenerate/", views.episode_regenerate, name="episode_regenerate"),
]
