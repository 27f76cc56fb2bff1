from django.urls import path

from podcasts import views, views_artwork, views_audio, views_exports

app_name = "podcasts"

# The pages that show summaries (home, podcast, episode, search) are summaries.urls.
urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signup/done/", views.signup_done, name="signup_done"),
    path("accounts/activate/<str:uidb64>/<str:token>/", views.signup_activate, name="signup_activate"),
    path("podcasts/", views.podcast_list, name="podcast_list"),
    path("podcasts/submit/", views.feed_submit, name="feed_submit"),
    path("podcasts/<id:pk>/subscribe/", views.podcast_subscribe, name="podcast_subscribe"),
    path("podcasts/<id:pk>/artwork", views_artwork.podcast_artwork, name="podcast_artwork"),
    path("podcasts/<id:pk>/unsubscribe/", views.podcast_unsubscribe, name="podcast_unsubscribe"),
    path("episodes/<id:pk>/audio", views_audio.episode_audio, name="episode_audio"),
    path("episodes/<id:pk>/transcript.<str:fmt>", views_exports.transcript_export, name="transcript_export"),
]
