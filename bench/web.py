"""Benchmark the subscriber pages under gunicorn on PostgreSQL, side by side with a baseline view.

Seeds (once; reused while the counts match) 500 podcasts, 10,000 episodes with
transcripts and summaries and 1,000 users in a database of its own, serves the
app with gunicorn, and drives concurrent keep-alive requests to home, podcast,
episode and search pages interleaved with /healthz (the trivial baseline on the
same server). Also counts queries per page in-process and fires a burst of 50
concurrent Regenerate POSTs from one user.

    python bench/web.py [--requests 1500] [--concurrency 4] [--workers N] [--threads N] [--reseed]

Prints per-page p50/p95 and one line:
RESULT web p50_ms=<n> p95_ms=<n> vs_baseline=<worst page p95 / baseline p95> max_queries=<n> regen_burst_deliveries=<n>
"""

import argparse
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = os.environ.get("BENCH_DATABASE_NAME", "castnotes_bench_web")
PG_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
N_PODCASTS, N_EPISODES, N_USERS = 500, 10_000, 1_000
PASSWORD = "castnotes"
# Broad topic words match ~30% of all episodes; host names match one podcast's episodes.
BROAD_TERMS = ["compost", "tidal turbines", "bebop"]

ENV = {
    **os.environ,
    # Persistent connections, as a production deployment sets in DATABASE_URL (docs/web.md).
    "DATABASE_URL": f"{PG_BASE}/{BENCH_DB}?conn_max_age=60&conn_health_checks=true",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "STATIC_MANIFEST": "0",
    "REDIS_URL": REDIS_URL,
    "LOG_LEVEL": "WARNING",
    "SUMMARY_PROVIDER": "extractive",
    "ANTHROPIC_API_KEY": "",
    "SUMMARY_PROMPT_VERSION": "v2",
}

TOPICS = {
    "soil": "compost soil worms mulch nitrogen carbon microbes clay garden beds leaf litter".split(),
    "bread": "sourdough starter dough flour hydration crust oven gluten rye proofing levain".split(),
    "cycling": "bike lanes commute traffic helmets cargo bikes intersections council parking".split(),
    "sleep": "sleep circadian melatonin caffeine naps deep screens morning light insomnia".split(),
    "jazz": "jazz saxophone bebop improvisation big bands records rhythm clubs swing trumpet".split(),
    "sea": "tidal turbines tides moon coastline estuaries currents harbours storm surge".split(),
}
FILLER = "the a and then we talk about how it really works when you look closely at the".split()
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "zo", "pe", "shi"]


def host_name(i: int) -> str:
    """A distinctive word per podcast (like a host's or guest's name)."""
    return _SYLLABLES[i % 10] + _SYLLABLES[(i // 10) % 10] + _SYLLABLES[(i // 100) % 10] + "rin"


def _sentence(rng: random.Random, words: list[str]) -> str:
    picked = [rng.choice(words) if rng.random() < 0.35 else rng.choice(FILLER) for _ in range(rng.randint(8, 16))]
    return " ".join(picked).capitalize() + "."


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def setup_django() -> None:
    os.environ.update(ENV)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def seed(*, reseed: bool) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    from podcasts.models import Episode, Podcast, Profile, Subscription, Transcript
    from summaries.models import Delivery, Summary

    call_command("migrate", verbosity=0)
    User = get_user_model()
    seeded = Transcript.objects.filter(text__contains=host_name(0)).exists()
    if not reseed and seeded and Episode.objects.count() == N_EPISODES and User.objects.count() >= N_USERS:
        Delivery.objects.all().delete()  # a fresh burst each run
        print(f"seed: reusing {BENCH_DB} ({N_EPISODES} episodes)", flush=True)
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE podcasts_podcast, auth_user, summaries_delivery, curation_curationitem RESTART IDENTITY CASCADE")
    rng = random.Random(5)
    topic_names = list(TOPICS)
    with transaction.atomic():
        podcasts = Podcast.objects.bulk_create(
            [
                Podcast(
                    feed_url=f"https://feeds.example.com/{i}.xml",
                    title=f"{topic_names[i % 6].title()} Hour {i}",
                    author=f"Host {i}",
                )
                for i in range(N_PODCASTS)
            ]
        )
    per_podcast = N_EPISODES // N_PODCASTS
    for chunk_start in range(0, N_PODCASTS, 50):
        with transaction.atomic():
            episodes = []
            for podcast in podcasts[chunk_start : chunk_start + 50]:
                for n in range(per_podcast):
                    episodes.append(
                        Episode(
                            podcast=podcast,
                            guid=f"{podcast.pk}-{n}",
                            title=f"{podcast.title} episode {n}",
                            enclosure_url=f"https://media.example.com/{podcast.pk}/{n}.mp3",
                            published_at=f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z",
                            pipeline_status="summarized",
                        )
                    )
            episodes = Episode.objects.bulk_create(episodes)
            transcripts, summaries = [], []
            for episode in episodes:
                words = (
                    TOPICS[topic_names[(episode.podcast_id - 1) % 6]]
                    + TOPICS[rng.choice(topic_names)][:3]
                    + [host_name(episode.podcast_id - 1)] * 2
                )
                segments = [{"start": 6.0 * s, "end": 6.0 * s + 6, "text": _sentence(rng, words)} for s in range(40)]
                transcripts.append(
                    Transcript(episode=episode, source="whisper", segments=segments, text=" ".join(x["text"] for x in segments))
                )
                summaries.append(
                    Summary(
                        episode=episode,
                        content={
                            "tldr": _sentence(rng, words),
                            "key_points": [_sentence(rng, words) for _ in range(4)],
                            "quotes": [{"text": segments[5]["text"], "start": segments[5]["start"]}],
                            "chapters": [{"title": "Intro", "start": 0.0}, {"title": "Main", "start": 60.0}],
                            "topics": words[:3],
                        },
                        prompt_version="v1" if rng.random() < 0.5 else "v2",
                        provider="extractive",
                        model="extractive",
                        source_hash=f"{episode.pk:064d}",
                        editorial_status="published",
                    )
                )
            Transcript.objects.bulk_create(transcripts)
            Summary.objects.bulk_create(summaries)
        print(f"seed: {min(chunk_start + 50, N_PODCASTS) * per_podcast} episodes", flush=True)
    password = make_password(PASSWORD)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"user{i}", email=f"user{i}@example.com", password=password) for i in range(N_USERS)]
        )
        Profile.objects.bulk_create(
            [Profile(user=user, plan="premium" if i % 10 == 0 else "free") for i, user in enumerate(users)]
        )
        Subscription.objects.bulk_create(
            [Subscription(user=user, podcast=podcast) for user in users for podcast in rng.sample(podcasts, 10)]
        )
    with connection.cursor() as cursor:
        # Steady state: autovacuum would have flushed the GIN pending lists and gathered stats.
        cursor.execute("VACUUM ANALYZE")
    print(f"seed: done in {time.perf_counter() - started:.0f} s", flush=True)


def count_queries(paths: dict[str, str], username: str) -> dict[str, int]:
    """Queries per page, measured in-process with the same code and data."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    counts = {}
    for name, path in paths.items():
        client.get(path)  # warm caches (content types, templates)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(queries)
    return counts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Session:
    """A keep-alive HTTP client with its own cookies (the Secure flag is ignored on loopback)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        headers = {"Host": "localhost", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://localhost:{self.port}{path}"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, payload

    def log_in(self, username: str) -> None:
        self.request("GET", "/accounts/login/")
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.cookies["csrftoken"]},
        )
        assert status == 302, f"login failed for {username}: {status}"


def wait_for(port: int, deadline: float = 60.0) -> None:
    end = time.time() + deadline
    while time.time() < end:
        try:
            status, _ = Session(port).request("GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz in time")


def drive(port: int, plan: list[tuple[str, str]], concurrency: int, usernames: list[str]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    lock = threading.Lock()
    chunks = [plan[i::concurrency] for i in range(concurrency)]
    errors: list[str] = []

    def worker(index: int) -> None:
        session = Session(port)
        session.log_in(usernames[index % len(usernames)])
        local: dict[str, list[float]] = {}
        for name, path in chunks[index]:
            started = time.perf_counter()
            status, _ = session.request("GET", path)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                errors.append(f"{name} {path} -> {status}")
            local.setdefault(name, []).append(elapsed)
        with lock:
            for name, values in local.items():
                timings.setdefault(name, []).extend(values)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    return timings


def regen_burst(port: int, username: str, episode_id: int, n: int = 50) -> int:
    from summaries.models import Delivery

    seed_session = Session(port)
    seed_session.log_in(username)
    cookies = dict(seed_session.cookies)
    barrier = threading.Barrier(n)
    statuses: list[int] = []

    def post() -> None:
        session = Session(port)
        session.cookies = dict(cookies)
        barrier.wait()
        status, body = session.request(
            "POST",
            f"/episodes/{episode_id}/regenerate/",
            {"csrfmiddlewaretoken": cookies["csrftoken"]},
            {"Accept": "application/json"},
        )
        statuses.append(status)

    threads = [threading.Thread(target=post) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bad = [s for s in statuses if s != 202]
    if bad:
        print(f"burst: {len(bad)} non-202 answers: {sorted(set(bad))}")
    return Delivery.objects.filter(episode_id=episode_id).count()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=4)
    # By default the server runs as gunicorn.conf.py (the Procfile's web process) says.
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()

    ensure_database()
    setup_django()
    seed(reseed=args.reseed)

    import redis

    from podcasts.models import Episode, Podcast
    from summaries.models import Summary

    redis.Redis.from_url(REDIS_URL).flushdb()
    rng = random.Random(7)
    premium = [f"user{i}" for i in range(0, N_USERS, 10)][: args.concurrency]
    podcast_ids = list(Podcast.objects.values_list("pk", flat=True))
    episode_ids = list(Episode.objects.values_list("pk", flat=True))
    pages = {
        "baseline": lambda: "/healthz",
        "home": lambda: "/",
        "podcast": lambda: f"/podcasts/{rng.choice(podcast_ids)}/",
        "episode": lambda: f"/episodes/{rng.choice(episode_ids)}/",
        "search": lambda: "/search/?" + urlencode({"q": host_name(rng.randrange(N_PODCASTS))}),
        "search_broad": lambda: "/search/?" + urlencode({"q": rng.choice(BROAD_TERMS)}),
    }
    sample = {name: make() for name, make in pages.items() if name != "baseline"}
    queries = count_queries(sample, premium[0])
    plan = [(name, pages[name]()) for name in list(pages) * (args.requests // len(pages))]
    rng.shuffle(plan)  # every page type under the same load, side by side

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *(["--workers", str(args.workers)] if args.workers else []),
            *(["--threads", str(args.threads)] if args.threads else []),
        ],
        cwd=ROOT,
        env={**ENV, "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1"},
        stdout=subprocess.DEVNULL,  # access log lines: written (their cost is real), not shown
    )
    try:
        wait_for(port)
        drive(port, plan[: len(plan) // 5], args.concurrency, premium)  # warm-up
        timings = drive(port, plan, args.concurrency, premium)
        outdated = (
            Summary.objects.filter(prompt_version="v1", editorial_status="published").values_list("episode_id", flat=True).first()
        )
        burst = regen_burst(port, premium[0], outdated)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        redis.Redis.from_url(REDIS_URL).flushdb()

    print(f"{'page':<10}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}")
    for name, values in sorted(timings.items()):
        print(f"{name:<10}{len(values):>6}{pct(values, 0.5):>9.1f}{pct(values, 0.95):>9.1f}{queries.get(name, 1):>9}")
    page_values = [v for name, values in timings.items() if name != "baseline" for v in values]
    worst_p95 = max(pct(values, 0.95) for name, values in timings.items() if name != "baseline")
    baseline_p95 = pct(timings["baseline"], 0.95)
    print(
        f"RESULT web p50_ms={statistics.median(page_values):.1f} p95_ms={worst_p95:.1f} "
        f"vs_baseline={worst_p95 / baseline_p95:.2f} max_queries={max(queries.values())} "
        f"regen_burst_deliveries={burst}"
    )


if __name__ == "__main__":
    main()
