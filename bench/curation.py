"""Benchmark the curation inbox: changelist (default open filter) with its facet counts.

Builds a throwaway PostgreSQL database, fills it with 5,000 and then 50,000
CurationItems across the 8 flag classes and 5 kinds of object, and times the
inbox through Django's test client as a curator (not a superuser, so the
permission checks run too). Both sizes are measured in this one run, side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/castnotes python bench/curation.py

Prints a table (wall ms, this process's CPU ms, queries; 5k vs 50k and their
ratio) and `RESULT curation inbox_ms=<median at 50k> queries=<n>`. Targets:
< 150 ms, <= 20 queries, independent of the number of items. `--queries` lists
the inbox's queries by time; `--quick` skips the 5k step; `--keep` keeps the database.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/castnotes")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# A database of its own, created and dropped here.
os.environ["TEST_DATABASE_NAME"] = os.environ.get("BENCH_DATABASE_NAME", "bench_castnotes_curation")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

FLAG_CLASSES = [
    "job_failed",
    "malformed_llm_output",
    "unverified_quote",
    "low_confidence_transcript",
    "duplicate_audio",
    "feed_broken",
    "feed_submission",
    "llm_budget_exhausted",
]
KINDS = [
    ("podcasts", "podcast"),
    ("podcasts", "episode"),
    ("podcasts", "transcript"),
    ("summaries", "summary"),
    ("summaries", "delivery"),
]
# Half the items are open, spread over the three open statuses.
STATUSES = ["pending", "pending", "in_review", "escalated", "resolved", "resolved", "dismissed", "resolved"]
SEVERITIES = ["P0", "P1", "P1", "P2", "P2"]
RUNS = 15


def items_add(start: int, stop: int) -> None:
    from curation.models import CurationItem

    max_before = CurationItem.objects.order_by("-id").values_list("id", flat=True).first() or 0
    content_types = [ContentType.objects.get_by_natural_key(app, model) for app, model in KINDS]
    batch = []
    for i in range(start, stop):
        batch.append(
            CurationItem(
                content_type=content_types[i % len(KINDS)],
                object_id=str(i),  # distinct per item: at most one open item per object and flag
                object_repr=f"Object {i}",
                flag_class=FLAG_CLASSES[(i // len(KINDS)) % len(FLAG_CLASSES)],
                severity=SEVERITIES[i % len(SEVERITIES)],
                status=STATUSES[(i * 7) % len(STATUSES)],
                evidence={"n": i, "error": "sample error text " * 5},
                proposed_by="bench",
            )
        )
        if len(batch) == 5000:
            CurationItem.objects.bulk_create(batch)
            batch = []
    if batch:
        CurationItem.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        # Ages spread over ~90 days (bulk_create stamps them all "now").
        cursor.execute(
            "UPDATE curation_curationitem SET created_at = now() - (id %% 129600) * interval '1 minute', "
            "last_seen = now() - (id %% 129600) * interval '1 minute' WHERE id > %s",
            [max_before],
        )
    # What autovacuum does on a live server: statistics and the visibility map for index-only scans.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE curation_curationitem")


def measure(client: Client, url: str) -> tuple[float, float, int]:
    """Median wall ms, median CPU ms of this process (Python side only), queries."""
    for _ in range(3):  # warm caches (content types, templates, PostgreSQL buffers)
        assert client.get(url).status_code == 200
    wall, cpu = [], []
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return statistics.median(wall), statistics.median(cpu), len(ctx.captured_queries)


def main() -> int:
    if not settings.IS_POSTGRES:
        print("bench/curation.py needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from curation.services import curators_group_ensure

        curator = User.objects.create_user("bench-curator", is_staff=True)
        curator.groups.add(curators_group_ensure())
        client = Client()
        client.force_login(curator)
        urls = {
            "inbox": "/admin/curation/curationitem/",
            "facets": "/admin/curation/curationitem/?_facets=True",
            "inbox_p0": "/admin/curation/curationitem/?severity__exact=P0",
            "inbox_all": "/admin/curation/curationitem/?status=all",
        }
        results: dict[int, dict[str, tuple[float, float, int]]] = {}
        done = 0
        for size in (5_000, 50_000) if "--quick" not in sys.argv else (50_000,):
            items_add(done, size)
            done = size
            results[size] = {name: measure(client, url) for name, url in urls.items()}

        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; median of {RUNS} requests")
        print(f"{'view':<10} {'5k ms':>8} {'50k ms':>8} {'ratio':>6} {'5k cpu':>7} {'50k cpu':>8} {'5k q':>5} {'50k q':>6}")
        for name in urls:
            small = results.get(5_000, results[50_000])[name]
            big = results[50_000][name]
            print(
                f"{name:<10} {small[0]:8.1f} {big[0]:8.1f} {big[0] / small[0]:6.2f} "
                f"{small[1]:7.1f} {big[1]:8.1f} {small[2]:5d} {big[2]:6d}"
            )
        if "--queries" in sys.argv:
            with CaptureQueriesContext(connection) as ctx:
                client.get(urls["inbox"])
            for query in sorted(ctx.captured_queries, key=lambda q: -float(q["time"])):
                print(f"{float(query['time']) * 1000:8.1f} ms  {query['sql'][:300]}")
        inbox_ms, _, queries = results[50_000]["inbox"]
        print(f"RESULT curation inbox_ms={inbox_ms:.1f} queries={queries}")
    finally:
        if "--keep" not in sys.argv:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
