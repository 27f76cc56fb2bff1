"""Podcast artwork: fetched once through the one fetcher (podcasts.fetch), size-capped,
kept under MEDIA_ROOT/artwork/ and served from there (never hot-linked from the feed).

The image type comes from the file's own first bytes, never from the server's
Content-Type: only PNG, JPEG, WebP and GIF are kept, and they are served with that
type and `X-Content-Type-Options: nosniff`, so a feed cannot get HTML or SVG
(script) served from this origin.
"""

import logging
import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from podcasts import fetch
from podcasts.models import Podcast

logger = logging.getLogger("castnotes.feeds")

ARTWORK_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
ARTWORK_ACCEPT = "image/png, image/jpeg, image/webp, image/gif;q=0.9"


def artwork_sniff(body: bytes) -> str | None:
    """The image type of `body` from its magic bytes; None for anything else (SVG, HTML, …)."""
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    if body.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return None


def podcast_artwork_fetch(*, podcast_id: int) -> bool:
    """Cache the podcast's feed artwork locally; True when a new file was stored.

    Runs after a successful ingest. Unchanged artwork (same URL, file present) is not
    fetched again. A fetch fault or a refused file is logged and leaves the old
    artwork in place: artwork never fails a feed refresh.
    """
    podcast = Podcast.objects.filter(pk=podcast_id).values("image_url", "artwork_path", "artwork_source_url").first()
    if podcast is None or not podcast["image_url"]:
        return False
    root = Path(settings.MEDIA_ROOT)
    if (
        podcast["artwork_source_url"] == podcast["image_url"]
        and podcast["artwork_path"]
        and (root / podcast["artwork_path"]).is_file()
    ):
        return False
    try:
        result = fetch.fetch_bytes(podcast["image_url"], max_bytes=settings.ARTWORK_MAX_BYTES, accept=ARTWORK_ACCEPT)
    except fetch.FetchError as exc:
        logger.info("artwork_refused", extra={"event": "artwork_refused", "podcast_id": podcast_id, "error": str(exc)[:300]})
        return False
    content_type = artwork_sniff(result.body) if result.status == 200 else None
    if content_type is None:
        logger.info(
            "artwork_refused",
            extra={"event": "artwork_refused", "podcast_id": podcast_id, "error": "not a PNG, JPEG, WebP or GIF"},
        )
        return False
    relative = f"artwork/{podcast_id}.{ARTWORK_TYPES[content_type]}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    partial.write_bytes(result.body)
    os.replace(partial, target)  # a reader never sees half a file
    if podcast["artwork_path"] and podcast["artwork_path"] != relative:
        (root / podcast["artwork_path"]).unlink(missing_ok=True)
    Podcast.objects.filter(pk=podcast_id).update(
        artwork_path=relative, artwork_type=content_type, artwork_source_url=podcast["image_url"], updated_at=timezone.now()
    )
    logger.info("artwork_stored", extra={"event": "artwork_stored", "podcast_id": podcast_id, "bytes": len(result.body)})
    return True
