from django.shortcuts import get_object_or_404, render

from podcasts.models import Episode, Podcast


def home(request):
    podcasts = Podcast.objects.filter(status=Podcast.Status.ACTIVE).order_by("title")[:50]
    return render(request, "podcasts/home.html", {"podcasts": podcasts})


def podcast_detail(request, pk: int):
    podcast = get_object_or_404(Podcast, pk=pk, status=Podcast.Status.ACTIVE)
    episodes = podcast.episodes.filter(hidden=False).order_by("-published_at", "-id")[:50]
    return render(request, "podcasts/podcast_detail.html", {"podcast": podcast, "episodes": episodes})


def episode_detail(request, pk: int):
    episode = get_object_or_404(Episode.objects.select_related("podcast"), pk=pk, hidden=False)
    return render(request, "podcasts/episode_detail.html", {"episode": episode})
