"""Transcript downloads for signed-in users: /episodes/<id>/transcript.{vtt,srt,json,txt}."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from podcasts.models import Transcript
from podcasts.selectors import episode_visible
from podcasts.transcripts import export_json, export_srt, export_txt, export_vtt

FORMATS = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}


@require_safe
@login_required
def transcript_export(request, pk: int, fmt: str):
    if fmt not in FORMATS:
        raise Http404("Unknown transcript format.")
    transcript = get_object_or_404(
        Transcript.objects.select_related("episode"),
        episode_visible("episode__"),
        episode_id=pk,
    )
    if fmt == "vtt":
        body = export_vtt(transcript.segments)
    elif fmt == "srt":
        body = export_srt(transcript.segments)
    elif fmt == "json":
        body = export_json(transcript)
    else:
        body = export_txt(transcript.segments)
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'inline; filename="episode-{pk}-transcript.{fmt}"'
    return response
