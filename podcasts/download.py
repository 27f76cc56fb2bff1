"""The download stage: publisher transcript first, else the audio, streamed, hashed and probed.

new → downloading → downloaded (or → transcribed straight away when the
publisher's transcript parses, or the same audio already has a transcript).
All HTTP goes through podcasts.fetch; nothing here holds a transaction open
while bytes move.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from curation.services import enqueue_for_review
from podcasts.fetch import FetchConnectionError, FetchError, HTTPStatusError, ResponseTooLarge, fetch_stream
from podcasts.models import Episode, Transcript
from podcasts.pipeline import (
    Status,
    episode_advance,
    episode_claim,
    episode_enqueue,
    episode_record_failure,
    transcript_store,
)
from podcasts.transcripts import publisher_transcript_fetch, transcript_candidates

logger = logging.getLogger("castnotes.download")

AUDIO_SUFFIXES = {".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav", ".webm"}
# Seconds of audio decoded to prove a probed file really is audio.
PROBE_DECODE_SECONDS = 1.0


class AudioRefused(Exception):
    """The audio cannot be used. `give_up_status` is `failed` (broken) or `skipped` (over a cap)."""

    def __init__(self, message: str, *, give_up_status: str = Status.FAILED):
        super().__init__(message)
        self.give_up_status = give_up_status


@dataclass
class AudioInfo:
    duration: float
    container: str
    codec: str


def audio_probe(path: Path) -> AudioInfo:
    """Check `path` is decodable audio no longer than AUDIO_MAX_SECONDS, before any full decode.

    Reads the container header (PyAV), refuses a missing audio stream or
    duration, refuses a duration over the cap, then decodes about one second
    to prove the stream is real audio.
    """
    import av

    with open(path, "rb") as handle:
        head = handle.read(512)
    if not head:
        raise AudioRefused("Not audio: the file is empty.")
    sniff = head.lstrip().lower()
    if sniff.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")) or sniff.startswith(b"<"):
        raise AudioRefused("Not audio: it is an HTML or XML document (an error page?), not an audio file.")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioRefused(f"Not audio: no audio stream in the {container.format.name} file.")
            stream = container.streams.audio[0]
            if container.duration:
                duration = container.duration / av.time_base
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            else:
                raise AudioRefused("Not audio: could not determine the duration.")
            if duration > settings.AUDIO_MAX_SECONDS:
                raise AudioRefused(
                    f"Audio is {duration:.0f} s long, over the AUDIO_MAX_SECONDS cap of {settings.AUDIO_MAX_SECONDS} s.",
                    give_up_status=Status.SKIPPED,
                )
            decoded = 0.0
            for frame in container.decode(stream):
                decoded += frame.samples / (frame.sample_rate or 1)
                if decoded >= PROBE_DECODE_SECONDS:
                    break
            if decoded <= 0:
                raise AudioRefused("Not audio: no decodable audio frames.")
            return AudioInfo(duration=round(duration, 3), container=container.format.name, codec=stream.codec_context.name)
    except av.error.FFmpegError as exc:
        raise AudioRefused(f"Not audio: the file could not be decoded ({exc.strerror or type(exc).__name__}).") from exc


def audio_paths(episode: Episode) -> tuple[Path, str]:
    """(partial file path, final path relative to MEDIA_ROOT) for the episode's audio."""
    suffix = Path(episode.enclosure_url.split("?", 1)[0]).suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        suffix = ".audio"
    relative = f"audio/{episode.podcast_id}/{episode.pk}{suffix}"
    partial = Path(settings.MEDIA_ROOT) / f"audio/{episode.podcast_id}/{episode.pk}.part"
    return partial, relative


@dataclass
class DownloadedAudio:
    relative_path: str
    sha256: str
    size: int
    resumed_from: int


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _expected_length(headers: dict[str, str]) -> int | None:
    """The declared body length, used only to notice a cut transfer (never to allow more bytes)."""
    if headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        return None
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


def audio_download(episode: Episode) -> DownloadedAudio:
    """Stream the enclosure into MEDIA_ROOT, hashing as it goes; resume a partial file with Range.

    The partial file is kept only after a transient fault (network break,
    timeout, 5xx), so the retry resumes it; any other failure removes it.
    """
    if not episode.enclosure_url:
        raise AudioRefused("The episode has no audio enclosure.", give_up_status=Status.SKIPPED)
    partial, relative = audio_paths(episode)
    partial.parent.mkdir(parents=True, exist_ok=True)
    offset = partial.stat().st_size if partial.exists() else 0
    headers = {"Accept": "audio/*, video/*;q=0.5, */*;q=0.1", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    digest = hashlib.sha256()
    try:
        with fetch_stream(episode.enclosure_url, deadline=settings.FETCH_AUDIO_DEADLINE, headers=headers) as response:
            mode = "wb"
            if offset and response.status == 206:
                match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
                if not match or int(match.group(1)) != offset:
                    raise AudioRefused("The server answered the Range request with a different range.")
                with open(partial, "rb") as existing:
                    for block in iter(lambda: existing.read(1024 * 1024), b""):
                        digest.update(block)
                mode = "ab"
            else:
                offset = 0  # no Range support (or no partial): the whole file from the start
            received = offset
            with open(partial, mode) as out:
                # The cap counts bytes actually received, never Content-Length.
                for chunk in response.iter_bytes(max_bytes=settings.AUDIO_MAX_BYTES - offset):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
            expected = _expected_length(response.headers)
            if expected is not None and received - offset < expected:
                # http.client ends a short body quietly; a cut transfer is a transient fault.
                raise FetchConnectionError(
                    f"Connection closed after {received - offset} of {expected} bytes from {episode.enclosure_url[:200]}."
                )
        partial.replace(Path(settings.MEDIA_ROOT) / relative)
    except FetchError as exc:
        if not exc.transient:
            partial.unlink(missing_ok=True)
        raise
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info(
        "audio_downloaded",
        extra={"event": "audio_downloaded", "episode_id": episode.pk, "bytes": received, "resumed_from": offset},
    )
    return DownloadedAudio(relative_path=relative, sha256=digest.hexdigest(), size=received, resumed_from=offset)


def _refusal_for(exc: FetchError) -> tuple[str, bool, str]:
    """(last_error, permanent, give-up status) for a fetch fault."""
    if isinstance(exc, ResponseTooLarge):
        return (f"Audio is larger than the AUDIO_MAX_BYTES cap of {settings.AUDIO_MAX_BYTES} bytes.", True, Status.SKIPPED)
    if isinstance(exc, HTTPStatusError):
        kind = "retrying" if exc.transient else "not retrying"
        return (f"Audio download failed: {exc} ({kind}).", not exc.transient, Status.FAILED)
    return (f"Audio download failed: {exc}", not exc.transient, Status.FAILED)


def episode_download(*, episode_id: int) -> str | None:
    """new → downloading → downloaded | transcribed | failed | skipped; a duplicate job is a no-op."""
    episode = episode_claim(episode_id=episode_id, from_status=Status.NEW, to_status=Status.DOWNLOADING)
    if episode is None:
        return None
    try:
        return _download_stage(episode)
    except Exception as exc:  # unexpected: count a transient attempt so backoff and MAX_ATTEMPTS apply
        logger.exception("download_error", extra={"event": "download_error", "episode_id": episode_id})
        return episode_record_failure(
            episode_id=episode_id,
            working_status=Status.DOWNLOADING,
            error=f"Download stage failed: {type(exc).__name__}: {exc}",
            permanent=False,
        )


def _download_stage(episode: Episode) -> str | None:
    if transcript_candidates(episode):
        published, why = publisher_transcript_fetch(episode)
        if published is not None:
            stored = transcript_store(
                episode_id=episode.pk,
                from_status=Status.DOWNLOADING,
                source="publisher",
                segments=published.segments,
                duration=published.duration,
                language=episode.podcast.language[:35],
                model=f"publisher:{published.format}",
                source_url=published.url,
            )
            return Status.TRANSCRIBED if stored else None
        logger.info(
            "publisher_transcript_fallback",
            extra={"event": "publisher_transcript_fallback", "episode_id": episode.pk, "reason": why[:300]},
        )

    try:
        audio = audio_download(episode)
    except FetchError as exc:
        error, permanent, give_up = _refusal_for(exc)
        new_status = episode_record_failure(
            episode_id=episode.pk, working_status=Status.DOWNLOADING, error=error, permanent=permanent, give_up_status=give_up
        )
        if new_status in (Status.FAILED, Status.SKIPPED):
            audio_paths(episode)[0].unlink(missing_ok=True)  # no retry will resume it
        return new_status
    except AudioRefused as exc:
        return episode_record_failure(
            episode_id=episode.pk,
            working_status=Status.DOWNLOADING,
            error=str(exc),
            permanent=True,
            give_up_status=exc.give_up_status,
        )
    return _finish_download(episode=episode, audio=audio)


def episode_audio_import(*, episode_id: int, source: Path) -> str | None:
    """Take a local audio file as the episode's download (the bundled demo episodes: no network).

    Same checks and transitions as a download: probe, duplicate audio, then downloaded.
    """
    episode = episode_claim(episode_id=episode_id, from_status=Status.NEW, to_status=Status.DOWNLOADING)
    if episode is None:
        return None
    _partial, relative = audio_paths(episode)
    relative = str(Path(relative).with_suffix(source.suffix.lower() or ".audio"))
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(source, "rb") as src, open(target, "wb") as out:
            for block in iter(lambda: src.read(1024 * 1024), b""):
                size += len(block)
                if size > settings.AUDIO_MAX_BYTES:
                    raise AudioRefused(
                        f"Audio is larger than the AUDIO_MAX_BYTES cap of {settings.AUDIO_MAX_BYTES} bytes.",
                        give_up_status=Status.SKIPPED,
                    )
                digest.update(block)
                out.write(block)
    except (AudioRefused, OSError) as exc:
        target.unlink(missing_ok=True)
        return episode_record_failure(
            episode_id=episode_id,
            working_status=Status.DOWNLOADING,
            error=str(exc),
            permanent=True,
            give_up_status=getattr(exc, "give_up_status", Status.FAILED),
        )
    audio = DownloadedAudio(relative_path=relative, sha256=digest.hexdigest(), size=size, resumed_from=0)
    return _finish_download(episode=episode, audio=audio)


def _finish_download(*, episode: Episode, audio: DownloadedAudio) -> str | None:
    """Probe the stored file, reuse a transcript of the same bytes, else move to downloaded."""
    path = Path(settings.MEDIA_ROOT) / audio.relative_path
    try:
        info = audio_probe(path)
    except AudioRefused as exc:
        path.unlink(missing_ok=True)
        return episode_record_failure(
            episode_id=episode.pk,
            working_status=Status.DOWNLOADING,
            error=str(exc),
            permanent=True,
            give_up_status=exc.give_up_status,
        )

    fields = {"audio_sha256": audio.sha256, "audio_bytes": audio.size, "audio_duration": info.duration}
    original = (
        Transcript.objects.filter(episode__audio_sha256=audio.sha256)
        .exclude(episode_id=episode.pk)
        .select_related("episode")
        .order_by("pk")
        .first()
    )
    if original is not None:
        return _reuse_transcript(episode=episode, original=original, fields=fields, path=path)

    with transaction.atomic():
        if not episode_advance(
            episode_id=episode.pk,
            from_status=Status.DOWNLOADING,
            to_status=Status.DOWNLOADED,
            audio_path=audio.relative_path,
            **fields,
        ):
            return None
        episode_enqueue(episode_id=episode.pk)
    return Status.DOWNLOADED


def _reuse_transcript(*, episode: Episode, original: Transcript, fields: dict, path: Path) -> str | None:
    """Same audio bytes as an episode that has a transcript: copy it and flag duplicate_audio."""

    with transaction.atomic():
        stored = transcript_store(
            episode_id=episode.pk,
            from_status=Status.DOWNLOADING,
            source="reused",
            segments=original.segments,
            language=original.language,
            duration=original.duration,
            model=original.model,
            wall_seconds=0.0,
            avg_logprob=original.avg_logprob,
            no_speech_ratio=original.no_speech_ratio,
            source_url=original.source_url,
            episode_fields=fields,
        )
        if stored:
            enqueue_for_review(
                target=episode,
                flag_class="duplicate_audio",
                severity="P2",
                proposed_by="pipeline:download",
                evidence={
                    "episode_id": episode.pk,
                    "podcast_id": episode.podcast_id,
                    "title": episode.title,
                    "audio_sha256": fields["audio_sha256"],
                    "same_as_episode_id": original.episode_id,
                    "same_as_title": original.episode.title,
                    "same_as_podcast_id": original.episode.podcast_id,
                },
            )
    # The bytes are already transcribed: no need to keep a second copy.
    path.unlink(missing_ok=True)
    return Status.TRANSCRIBED if stored else None
