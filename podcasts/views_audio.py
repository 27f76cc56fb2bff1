"""The cached copy of an episode's audio, served with HTTP Range so the player can seek.

Playing the local copy keeps subscribers' browsers off third-party hosts and
works when the publisher's URL is gone (or, in the demo, was on loopback).
"""

import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from podcasts import selectors

# At most 18 digits a side (below 2**63, more than any file): a longer number is unsatisfiable,
# never parsed (Python refuses int() past 4,300 digits).
_RANGE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")
CHUNK = 64 * 1024


def _local_audio(audio_path: str) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / audio_path).resolve()
    if not audio_path or not path.is_relative_to(root) or not path.is_file():
        raise Http404("No cached audio for this episode.")
    return path


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) of a single satisfiable range, or None when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # suffix: the last N bytes
        length = int(last)
        return (max(size - length, 0), size - 1) if length else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None


def _read(path: Path, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        while length > 0:
            block = handle.read(min(CHUNK, length))
            if not block:
                break
            length -= len(block)
            yield block


@require_safe
def episode_audio(request, pk: int):
    episode = get_object_or_404(selectors.episodes_visible(), pk=pk)
    path = _local_audio(episode.audio_path)
    content_type = episode.enclosure_type if episode.enclosure_type.startswith("audio/") else "audio/mpeg"
    size = path.stat().st_size
    header = request.headers.get("Range", "")
    if not header:
        response = FileResponse(open(path, "rb"), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    span = _byte_range(header, size)
    if span is None:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = span
    response = StreamingHttpResponse(_read(path, start, end - start + 1), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response
