"""Soak: the Procfile's processes on PostgreSQL + Redis for a while, under load, with workers killed.

    python bench/soak.py [--duration 600] [--episodes 50] [--users 20] [--kill-every 120]

Starts every Procfile process (web, worker ×2, whisper ×2, scheduler) against a
fresh PostgreSQL database and a Redis database, adds a loopback feed of short
episodes, and while the pipeline works through them keeps `--users` logged-in
premium users reading pages and pressing Regenerate on outdated summaries.
Every `--kill-every` seconds one worker process (light or whisper, in turn) is
killed with SIGKILL, as a crashed machine would; a supervisor restarts it (as
systemd's Restart=always would) and `sweep` picks its work up. After the
duration the load stops and the pipeline gets a bounded drain period.

Prints `RESULT soak episodes_done=<n>/<N> duplicates=<n> lost=<n> http_errors=<n> p95_ms=<n>`:
duplicates counts extra transcripts, extra pipeline summaries, extra live
summaries after regeneration and extra open regenerations; lost counts episodes
not summarized and regenerations not finished after the drain; http_errors
counts 5xx answers and failed connections (refusals such as 400/429 are listed
apart).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.httpserver import LoopbackServer, Route  # noqa: E402
from tests.support.procfile import collectstatic, free_port, http_login, procfile_env  # noqa: E402

DEMO_AUDIO = ROOT / "podcasts" / "demo" / "audio"
PASSWORD = "soak-password-castnotes-42"
FORMATION = {"web": 1, "worker": 2, "whisper": 2, "scheduler": 1}


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def feed_xml(base_url: str, count: int) -> bytes:
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    items = "".join(
        f"""<item><title>Soak episode {n}</title><guid isPermaLink="false">soak-{n}</guid>
        <pubDate>{format_datetime(start + timedelta(hours=n))}</pubDate><description>Episode {n}.</description>
        <enclosure url="{base_url}/audio/{n}.mp3" type="audio/mpeg" length="0"/></item>"""
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Soak Podcast</title>'
        f"<link>{base_url}/</link><description>Soak feed.</description><language>en</language>{items}</channel></rss>"
    ).encode()


def unique_mp3(n: int) -> bytes:
    # Distinct bytes per episode (an ID3v1 trailer decoders ignore): identical audio would be
    # handled as duplicate audio, which is not what the soak measures.
    body = (DEMO_AUDIO / f"episode-{n % 3 + 1}.mp3").read_bytes()
    return body + b"TAG" + f"Soak episode {n}".encode().ljust(125, b"\0")


class Supervisor:
    """Runs the Procfile's processes (honcho would stop everything when one dies) and restarts any that exits."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.commands = {}
        for line in (ROOT / "Procfile").read_text().splitlines():
            name, _, command = line.partition(":")
            if name.strip():
                self.commands[name.strip()] = command.strip()
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts = 0
        self.stopping = False
        self.lock = threading.Lock()

    def _start(self, slot: str) -> None:
        kind = slot.split(".")[0]
        env = {**self.env, "PORT": self.env["PORT"]}
        out = open(self.log_dir / f"{slot}.log", "ab")
        self.procs[slot] = subprocess.Popen(
            ["/bin/sh", "-c", self.commands[kind]],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> None:
        for kind, count in FORMATION.items():
            for i in range(1, count + 1):
                self._start(f"{kind}.{i}")
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self.stopping:
            with self.lock:
                for slot, proc in list(self.procs.items()):
                    if proc.poll() is not None and not self.stopping:
                        log(f"{slot} exited ({proc.returncode}); restarting")
                        self.restarts += 1
                        self._start(slot)
            time.sleep(1)

    def kill(self, slot: str) -> None:
        with self.lock:
            proc = self.procs[slot]
            log(f"SIGKILL {slot} (pid {proc.pid})")
            os.killpg(proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.stopping = True
        with self.lock:
            for proc in self.procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            for proc in self.procs.values():
                try:
                    proc.wait(timeout=max(1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


class Load:
    """`users` threads, each a logged-in premium user reading pages and pressing Regenerate."""

    def __init__(self, base_url: str, users: list[str], episode_ids: list[int], regen_ids: list[int], podcast_ids: list[int]):
        self.base_url = base_url
        self.users = users
        self.episode_ids = episode_ids
        self.regen_ids = regen_ids
        self.podcast_ids = podcast_ids
        self.stop_event = threading.Event()
        self.latencies_ms: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.error_samples: list[str] = []
        self.lock = threading.Lock()

    def _record(self, status: int | None, ms: float, what: str) -> None:
        with self.lock:
            self.latencies_ms.append(ms)
            if status is None or status >= 500:
                self.errors += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{what} -> {status}")
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1

    def _request(self, cookies: dict[str, str], path: str, data: dict | None = None) -> None:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        body = None
        if data is not None:
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": cookies.get("csrftoken", "")}).encode()
            headers["Referer"] = self.base_url + path
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)
        started = time.perf_counter()
        status = None
        try:
            with opener.open(request, timeout=30) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as answer:
            status = answer.code
        except Exception as exc:  # a failed connection is an error like a 5xx
            status = None
            path = f"{path} ({type(exc).__name__})"
        self._record(status, (time.perf_counter() - started) * 1000, f"{'POST' if data is not None else 'GET'} {path}")

    def login_all(self) -> None:
        """Log every user in before the clock starts (a cold gunicorn worker answers its first pages slowly)."""
        self.cookies = {}
        for username in self.users:
            for attempt in range(3):
                try:
                    self.cookies[username] = http_login(self.base_url, username, PASSWORD, timeout=60)
                    break
                except Exception as exc:
                    if attempt == 2:
                        self._record(None, 0, f"login {username} ({exc})")

    def _user(self, username: str, seed: int) -> None:
        rng = random.Random(seed)
        cookies = self.cookies.get(username)
        if cookies is None:
            return
        while not self.stop_event.is_set():
            roll = rng.random()
            if roll < 0.15 and self.regen_ids:
                self._request(cookies, f"/episodes/{rng.choice(self.regen_ids)}/regenerate/", data={})
            elif roll < 0.65:
                self._request(cookies, f"/episodes/{rng.choice(self.episode_ids + self.regen_ids)}/")
            elif roll < 0.85:
                self._request(cookies, f"/podcasts/{rng.choice(self.podcast_ids)}/")
            else:
                self._request(cookies, "/")
            self.stop_event.wait(rng.uniform(0.2, 1.0))  # think time

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._user, args=(u, i), daemon=True) for i, u in enumerate(self.users)]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def p95(self) -> float:
        values = sorted(self.latencies_ms)
        return values[int(0.95 * (len(values) - 1))] if values else 0.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result.stdout


SEED = """
import json
from django.contrib.auth import get_user_model
from podcasts.models import Episode, Podcast, Profile, Transcript
from summaries.models import Summary

users = []
for n in range({users}):
    user = get_user_model().objects.create_user(f"soak{{n}}", "", {password!r})
    Profile.objects.update_or_create(user=user, defaults={{"plan": Profile.Plan.PREMIUM}})
    users.append(user.username)
text = open({text!r}).read()
podcast = Podcast.objects.create(feed_url="https://soak.example.org/outdated.xml", title="Outdated summaries")
regen = []
for n in range({regen}):
    episode = Episode.objects.create(podcast=podcast, guid=f"outdated-{{n}}", title=f"Outdated {{n}}",
                                     pipeline_status=Episode.PipelineStatus.SUMMARIZED)
    Transcript.objects.create(episode=episode, text=text, source="whisper",
                              segments=[{{"start": 0.0, "end": 30.0, "text": text}}])
    Summary.objects.create(episode=episode, prompt_version="v1", provider="extractive", model="extractive-1",
                           editorial_status="published", source_hash=f"soak-{{n}}",
                           content={{"tldr": "An older summary.", "key_points": ["One.", "Two.", "Three."],
                                     "quotes": [], "chapters": [], "topics": []}})
    regen.append(episode.pk)
print(json.dumps({{"users": users, "regen": regen, "outdated_podcast": podcast.pk}}))
"""

REPORT = """
import json
from django.db.models import Count, Q
from podcasts.models import Episode, Transcript
from summaries.models import Delivery, Summary

feed = Episode.objects.filter(guid__startswith="soak-")
regen = Episode.objects.filter(guid__startswith="outdated-")
done = feed.filter(pipeline_status=Episode.PipelineStatus.SUMMARIZED).count()
extra = lambda rows: sum(r["n"] - 1 for r in rows if r["n"] > 1)
dup_transcripts = extra(Transcript.objects.values("episode").annotate(n=Count("id")))
dup_summaries = extra(Summary.objects.filter(episode__in=feed).values("episode").annotate(n=Count("id")))
live = Summary.objects.filter(episode__in=regen).exclude(editorial_status__in=["retired", "hidden"])
dup_live = extra(live.values("episode").annotate(n=Count("id")))
open_regen = Delivery.objects.filter(kind="regeneration", status__in=["pending", "processing"])
dup_open = extra(open_regen.values("episode", "user").annotate(n=Count("id")))
print(json.dumps({{
    "episodes": feed.count(), "done": done,
    "by_status": dict(feed.values_list("pipeline_status").annotate(n=Count("id"))),
    "duplicates": dup_transcripts + dup_summaries + dup_live + dup_open,
    "dup_detail": [dup_transcripts, dup_summaries, dup_live, dup_open],
    "regen_open": open_regen.count(),
    "deliveries": dict(Delivery.objects.values_list("status").annotate(n=Count("id"))),
}}))
"""


def django_shell(env: dict[str, str], code: str) -> dict:
    import json

    out = manage(env, "shell", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds of load (default 600)")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--regen-episodes", type=int, default=5, help="episodes with outdated summaries to Regenerate")
    parser.add_argument("--kill-every", type=int, default=120, help="seconds between worker kills")
    parser.add_argument("--drain", type=int, default=240, help="max seconds to let the pipeline finish after the load")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server URL (a fresh database is made)")
    parser.add_argument("--database", default="castnotes_soak")
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/8"))
    args = parser.parse_args()

    import psycopg
    import redis

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    redis.Redis.from_url(args.redis_url).flushdb()

    work = Path(tempfile.mkdtemp(prefix="castnotes-soak-"))
    server = LoopbackServer().start()
    for n in range(1, args.episodes + 1):
        server.routes[f"/audio/{n}.mp3"] = Route(unique_mp3(n), headers={"Content-Type": "audio/mpeg"})
    server.routes["/feed.xml"] = Route(feed_xml(server.url(""), args.episodes), headers={"Content-Type": "application/rss+xml"})

    env = procfile_env(
        database_url=f"{args.postgres}/{args.database}",
        redis_url=args.redis_url,
        port=free_port(),
        media_root=work / "media",
        static_root=work / "static",
        BACKFILL_EPISODES=str(args.episodes),
        SUMMARY_PROVIDER="extractive",
        SCHEDULER_INTERVAL="10",
        PIPELINE_STUCK_SECONDS="60",  # a killed worker's episode is swept within a minute
        REGENERATIONS_PER_DAY="100000",
        RATELIMIT_LOGIN="1000/m",
        EMAIL_URL="dummymail://",
    )
    log(f"work dir {work}; database {args.database}; redis {args.redis_url}")
    manage(env, "migrate", "-v0")
    collectstatic(env)
    seeded = django_shell(
        env, SEED.format(users=args.users, password=PASSWORD, regen=args.regen_episodes, text=str(DEMO_AUDIO / "episode-1.txt"))
    )

    supervisor = Supervisor(env, work)
    supervisor.start()
    base_url = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base_url + "/healthz", timeout=2).read()
            break
        except Exception:
            if time.monotonic() > deadline:
                supervisor.stop()
                raise SystemExit("web did not answer /healthz")
            time.sleep(0.3)

    manage(env, "addfeed", server.url("/feed.xml"), "--json")
    status = django_shell(
        env,
        "import json; from podcasts.models import Episode, Podcast; "
        "print(json.dumps({'episodes': list(Episode.objects.filter(guid__startswith='soak-').values_list('pk', flat=True)), "
        "'podcasts': list(Podcast.objects.values_list('pk', flat=True))}))",
    )
    load = Load(base_url, seeded["users"], status["episodes"], seeded["regen"], status["podcasts"])
    load.login_all()
    started = time.monotonic()
    load.start()
    log(f"load on: {args.users} users, {len(status['episodes'])} episodes queued")
    kills = 0
    victims = ["worker.1", "whisper.1", "worker.2", "whisper.2"]
    next_kill = started + args.kill_every
    while time.monotonic() - started < args.duration:
        time.sleep(1)
        if time.monotonic() >= next_kill:
            supervisor.kill(victims[kills % len(victims)])
            kills += 1
            next_kill += args.kill_every
    load.stop()
    log(f"load off after {time.monotonic() - started:.0f} s; draining up to {args.drain} s")

    drain_deadline = time.monotonic() + args.drain
    report = django_shell(env, REPORT.format())
    while time.monotonic() < drain_deadline and (report["done"] < args.episodes or report["regen_open"]):
        time.sleep(10)
        report = django_shell(env, REPORT.format())
        log(f"drain: {report['done']}/{args.episodes} done, {report['regen_open']} regenerations open")
    supervisor.stop()
    server.stop()

    lost = (args.episodes - report["done"]) + report["regen_open"]
    log(
        f"episodes by status {report['by_status']}; deliveries {report['deliveries']}; duplicates detail "
        f"[transcripts, pipeline summaries, live after regeneration, open regenerations] = {report['dup_detail']}"
    )
    log(
        f"http statuses {dict(sorted(load.statuses.items()))}; requests {len(load.latencies_ms)}; "
        f"worker kills {kills}; restarts {supervisor.restarts}; error samples {load.error_samples}"
    )
    print(
        f"RESULT soak episodes_done={report['done']}/{args.episodes} duplicates={report['duplicates']} lost={lost} "
        f"http_errors={load.errors} p95_ms={load.p95():.0f} duration_s={args.duration}",
        flush=True,
    )


if __name__ == "__main__":
    main()
