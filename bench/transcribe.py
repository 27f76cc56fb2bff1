"""Benchmark: bare faster-whisper vs the real transcription path, the memory curve, the cost of word timestamps.

In one run, the same N clips of ~60 s of speech (synthesized with espeak-ng into a
temp dir) are transcribed
  (a) by bare faster-whisper in a loop, the model loaded once, and
  (b) through the project: episodes in the database (PostgreSQL), their ids
      enqueued on Redis, transcribed by `manage.py rqworker transcription
      --worker-class podcasts.worker.WhisperWorker`, results written back.
Both use the same model, compute type, threads, beam size, VAD and word
timestamps. The clock of (b) starts once the worker has loaded its model (as the
model load is outside (a)'s loop too) and stops when the last episode is
`transcribed` in the database.

Also:
  memory curve: peak RSS (the child's ru_maxrss, from wait4) of `manage.py
      transcribe FILE --json` on 10, 60 and 180 minutes of synthesized speech (a
      clip repeated by sox into MP3, cached in /tmp/castnotes-bench-audio); the
      three processes run side by side after the timing rounds (peak RSS is per
      process), so they do not skew the ratio;
  words_cost: wall time of (a) with word timestamps / without, on the same clips.

Prints the per-round numbers and one line:
RESULT transcribe ratio=<(b) throughput / (a) throughput> rtf=<audio s per wall s, (b)> rss_mb_10m=<n> rss_mb_60m=<n> rss_mb_180m=<n> words_cost=<n>

    python bench/transcribe.py [--clips 3] [--rounds 2] [--minutes 10,60,180] [--database-url ...] [--redis-url ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXTS = [
    "episode-1.txt",
    "episode-2.txt",
    "episode-3.txt",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=3, help="number of ~60 s clips (>= 3)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="run (a) and (b) this many times, alternating which goes first; best of each"
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/castnotes_bench")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WHISPER_THREADS", "0")))
    parser.add_argument("--minutes", default="10,60,180", help="lengths of the memory curve, in minutes")
    parser.add_argument("--audio-cache", default="/tmp/castnotes-bench-audio", help="where the long MP3s are kept between runs")
    return parser.parse_args()


def make_clips(count: int, folder: Path) -> list[Path]:
    """~60 s MP3 clips: two demo scripts back to back, read at 200 words per minute."""
    from podcasts.demo.synth import AUDIO_DIR, synthesize_mp3

    texts = [(AUDIO_DIR / name).read_text().strip() for name in TEXTS]
    clips = []
    for i in range(count):
        text = f"{texts[i % 3]} {texts[(i + 1) % 3]}"
        path = folder / f"clip-{i + 1}.mp3"
        synthesize_mp3(text, path, speed=200)
        clips.append(path)
    return clips


def audio_seconds(paths: list[Path]) -> float:
    import av

    total = 0.0
    for path in paths:
        with av.open(str(path)) as container:
            total += container.duration / av.time_base
    return total


def bare_loop(
    clips: list[Path], *, threads: int, beam_size: int, compute_type: str, model_path: str, word_timestamps: bool = True
) -> float:
    """(a): one model, a plain loop; returns wall seconds for all clips (the project's whisper options)."""
    from faster_whisper import WhisperModel

    model = WhisperModel(model_path, device="cpu", compute_type=compute_type, cpu_threads=threads)
    started = time.monotonic()
    for clip in clips:
        segments, _info = model.transcribe(
            str(clip),
            language="en",
            beam_size=beam_size,
            vad_filter=True,
            condition_on_previous_text=False,
            word_timestamps=word_timestamps,
            no_speech_threshold=None,
        )
        for _segment in segments:
            pass
    wall = time.monotonic() - started
    del model
    return wall


def long_audio(minutes: int, clip: Path, cache: Path) -> Path:
    """`minutes` of speech: `clip` repeated by sox into a mono 16 kHz MP3 (kept in `cache`)."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"speech-{minutes}m.mp3"
    if target.is_file():
        return target
    import av

    with av.open(str(clip)) as container:
        clip_seconds = container.duration / av.time_base
    repeats = max(int(round(minutes * 60 / clip_seconds)), 1)
    partial = cache / f"speech-{minutes}m.partial.mp3"
    subprocess.run(["sox", str(clip), "-r", "16000", "-c", "1", "-C", "32", str(partial), "repeat", str(repeats - 1)], check=True)
    partial.rename(target)
    return target


def transcribe_peak_rss(path: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """(peak RSS in MB, audio seconds, wall seconds) of one `manage.py transcribe --json` process."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "transcribe", str(path), "--json"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            raise SystemExit(f"manage.py transcribe {path} exited with {proc.returncode}")
        out.seek(0)
        result = json.loads(out.read())
    return usage.ru_maxrss / 1024, result["duration"], wall


def ensure_database(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Worker:
    """The Procfile's whisper process, started with the bench's environment."""

    def __init__(self, env: dict[str, str]):
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "rqworker",
                "transcription",
                "--worker-class",
                "podcasts.worker.WhisperWorker",
                "--serializer",
                "rq.serializers.JSONSerializer",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line)
            if '"whisper_worker_ready"' in line:
                self.ready.set()

    def stop(self) -> float:
        rss = peak_rss_mb(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return rss


def real_path(clips: list[Path], media_root: Path, env: dict[str, str], round_no: int) -> tuple[float, float]:
    """(b): episodes enqueued on Redis, the whisper worker transcribes, results land in the database."""
    from django.db import connection

    from podcasts.models import Episode, Podcast, Transcript
    from podcasts.pipeline import episode_enqueue

    Status = Episode.PipelineStatus
    podcast, _ = Podcast.objects.get_or_create(feed_url="https://bench.invalid/feed.xml", defaults={"title": "Bench"})
    ids = []
    for i, clip in enumerate(clips):
        relative = f"bench/{round_no}/{clip.name}"
        (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, media_root / relative)
        episode = Episode.objects.create(
            podcast=podcast,
            guid=f"bench-{round_no}-{i}-{time.time_ns()}",
            title=clip.name,
            pipeline_status=Status.DOWNLOADED,
            audio_path=relative,
        )
        ids.append(episode.pk)
    worker = Worker(env)
    try:
        if not worker.ready.wait(timeout=120):
            raise SystemExit("whisper worker did not start:\n" + "".join(worker.log[-20:]))
        started = time.monotonic()
        for episode_id in ids:
            episode_enqueue(episode_id=episode_id)
        while Episode.objects.filter(pk__in=ids, pipeline_status=Status.TRANSCRIBED).count() < len(ids):
            if worker.proc.poll() is not None:
                raise SystemExit("whisper worker died:\n" + "".join(worker.log[-20:]))
            failed = Episode.objects.filter(pk__in=ids, pipeline_status__in=[Status.FAILED, Status.DOWNLOADED], attempts__gt=0)
            if failed.exists():
                raise SystemExit(f"transcription failed: {failed.values_list('last_error', flat=True).first()}")
            time.sleep(0.05)
        wall = time.monotonic() - started
    finally:
        rss = worker.stop()
    assert Transcript.objects.filter(episode_id__in=ids).count() == len(ids)
    connection.close()
    return wall, rss


def main() -> int:
    args = parse_args()
    if args.clips < 3:
        raise SystemExit("--clips must be at least 3")
    work = Path(tempfile.mkdtemp(prefix="castnotes-bench-"))
    media_root = work / "media"
    media_root.mkdir()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop"),
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "MEDIA_ROOT": str(media_root),
            "HF_HUB_OFFLINE": "1",
            "WHISPER_THREADS": str(args.threads),
            "LOG_LEVEL": "INFO",
        }
    )
    ensure_database(args.database_url)
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command

    from podcasts.transcription import model_source

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(args.redis_url).flushdb()
    try:
        clips = make_clips(args.clips, work)
        seconds = audio_seconds(clips)
        print(
            f"{len(clips)} clips, {seconds:.1f} s of audio in all ({seconds / len(clips):.1f} s each); "
            f"model {model_source()}, {settings.WHISPER_COMPUTE_TYPE}, threads={args.threads or 'auto'}, beam={settings.WHISPER_BEAM_SIZE}"
        )
        bare, real, rss = [], [], []
        for round_no in range(1, args.rounds + 1):
            # Alternate which side goes first (a b, b a, …) so drift in machine load cancels out.
            def run_a():
                return bare_loop(
                    clips,
                    threads=args.threads,
                    beam_size=settings.WHISPER_BEAM_SIZE,
                    compute_type=settings.WHISPER_COMPUTE_TYPE,
                    model_path=model_source(),
                )

            if round_no % 2:
                a = run_a()
                b, worker_rss = real_path(clips, media_root, dict(os.environ), round_no)
            else:
                b, worker_rss = real_path(clips, media_root, dict(os.environ), round_no)
                a = run_a()
            bare.append(a)
            real.append(b)
            rss.append(worker_rss)
            print(
                f"round {round_no}: (a) bare faster-whisper {a:.2f} s, (b) Redis + whisper worker + PostgreSQL {b:.2f} s, "
                f"ratio {a / b:.3f}, worker peak RSS {worker_rss:.0f} MB"
            )
        a, b = min(bare), min(real)
        ratio = a / b  # throughput (b) / throughput (a) = (N / b) / (N / a)
        print(f"overhead per episode {(b - a) / len(clips):.3f} s, worker peak RSS {max(rss):.0f} MB")
        if len(bare) > 1:
            print(f"(spread over rounds: (a) {statistics.pstdev(bare):.2f} s, (b) {statistics.pstdev(real):.2f} s)")

        # Word timestamps: the same bare loop with and without them, alternating, best of each.
        with_words, without_words = [], []
        for round_no in range(1, args.rounds + 1):
            pair = []
            for words in (True, False) if round_no % 2 else (False, True):
                wall = bare_loop(
                    clips,
                    threads=args.threads,
                    beam_size=settings.WHISPER_BEAM_SIZE,
                    compute_type=settings.WHISPER_COMPUTE_TYPE,
                    model_path=model_source(),
                    word_timestamps=words,
                )
                (with_words if words else without_words).append(wall)
                pair.append(f"{'with' if words else 'without'} words {wall:.2f} s")
            print(f"words round {round_no}: " + ", ".join(pair))
        words_cost = min(with_words) / min(without_words)

        # Memory curve last, once the timing rounds are done: running the three long transcriptions
        # beside the rounds made the ratio depend on when each of them finished. Peak RSS is per
        # process, so the three run side by side.
        minutes_list = [int(m) for m in args.minutes.split(",") if m]
        memory: dict[int, tuple[float, float, float]] = {}
        memory_errors: list[BaseException] = []

        def measure(minutes: int, audio: Path) -> None:
            try:
                memory[minutes] = peak, duration, wall = transcribe_peak_rss(audio, dict(os.environ))
                print(f"(memory: {minutes} min done, peak RSS {peak:.0f} MB, {duration / wall:.1f}x real time)", flush=True)
            except BaseException as exc:  # reported below
                memory_errors.append(exc)

        memory_threads = []
        for minutes in sorted(minutes_list, reverse=True):
            audio = long_audio(minutes, clips[0], Path(args.audio_cache))
            thread = threading.Thread(target=measure, args=(minutes, audio), daemon=True)
            thread.start()
            memory_threads.append(thread)

        for thread in memory_threads:
            thread.join()
        if memory_errors:
            raise memory_errors[0]
        rss_by_minutes = {}
        for minutes in minutes_list:
            peak, duration, wall = memory[minutes]
            rss_by_minutes[minutes] = peak
            print(
                f"memory: {minutes} min ({duration:.0f} s of audio) peak RSS {peak:.0f} MB, "
                f"{wall:.0f} s wall ({duration / wall:.1f}x real time, alongside the other lengths)"
            )
        curve = " ".join(f"rss_mb_{m}m={rss_by_minutes[m]:.0f}" for m in rss_by_minutes)
        print(f"RESULT transcribe ratio={ratio:.3f} rtf={seconds / b:.2f} {curve} words_cost={words_cost:.3f}")
    finally:
        redis.Redis.from_url(args.redis_url).flushdb()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
