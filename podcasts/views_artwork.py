"""A podcast's artwork, served from the local cache (podcasts.artwork) with the type
sniffed when it was stored, never the feed server's, and nosniff."""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from podcasts.artwork import ARTWORK_TYPES
from podcasts.selectors import podcasts_visible


@require_safe
def podcast_artwork(request: HttpRequest, pk: int) -> FileResponse:
    found = podcasts_visible().filter(pk=pk).values("artwork_path", "artwork_type").first()
    if found is None or not found["artwork_path"] or found["artwork_type"] not in ARTWORK_TYPES:
        raise Http404("No artwork for this podcast.")
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / found["artwork_path"]).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("No artwork for this podcast.")
    response = FileResponse(path.open("rb"), content_type=found["artwork_type"])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    patch_cache_control(response, public=True, max_age=3600)
    return response
