"""Feed ingestion benchmark (issue 2): a 5,000-item feed, measured side by side in one run.

(a) feedparser parsing the feed's bytes on its own;
(b) `manage.py addfeed URL` end to end (loopback HTTP fetch, safety check, parse,
    sanitize, bulk insert) on PostgreSQL;
(c) the second, unchanged `addfeed` of the same URL (the server sends no
    validators, so the body is downloaded again; an identical body is not parsed);
plus, for information, (d) a re-ingest where only the channel changed
(`lastBuildDate`), so all 5,000 items go through the per-item hash comparison.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/castnotes python bench/ingest.py
It creates and drops its own scratch database (`<name>_bench_ingest`).
Prints `RESULT ingest first/parse=<ratio> second/first=<ratio> peak_mb=<n>`.
Targets: first/parse <= 2, second/first <= 0.2, peak < 300 MB.
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/castnotes")
os.environ.pop("REDIS_URL", None)
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

import feedparser  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from podcasts.models import Episode, Podcast  # noqa: E402
from tests.support.httpserver import LoopbackServer, Route  # noqa: E402

ITEMS = 5000
ROUNDS = 3


def make_feed(items: int, build_date: str = "Mon, 06 Jan 2025 10:00:00 GMT") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
        "<channel><title>Benchmark Show</title><link>https://example.com/</link>"
        f"<description>A long-running show.</description><lastBuildDate>{build_date}</lastBuildDate>"
        "<itunes:author>Bench</itunes:author><itunes:image href='https://example.com/cover.jpg'/>"
    ]
    for n in range(items):
        parts.append(
            f"<item><title>Episode {n}: on topic {n % 97}</title><guid isPermaLink='false'>bench-{n}</guid>"
            f"<pubDate>Mon, 06 Jan 2025 {n % 24:02d}:00:00 GMT</pubDate><link>https://example.com/ep/{n}</link>"
            f"<description><![CDATA[<p>Show notes for episode {n}, with <a href='https://example.com/{n}'>a link</a>"
            f" and <b>bold</b> text.</p><ul><li>Point one</li><li>Point two</li></ul>]]></description>"
            f"<enclosure url='https://cdn.example.com/ep{n}.mp3' type='audio/mpeg' length='{10_000_000 + n}'/>"
            f"<itunes:duration>{n % 3}:{n % 60:02d}:00</itunes:duration><itunes:episode>{n + 1}</itunes:episode>"
            f"<podcast:transcript url='https://example.com/ep{n}.vtt' type='text/vtt'/></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def addfeed(url: str) -> dict:
    out = io.StringIO()
    call_command("addfeed", url, "--json", stdout=out)
    return json.loads(out.getvalue())


def main() -> None:
    if not settings.IS_POSTGRES:
        sys.exit("bench/ingest.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    settings.FETCH_ALLOW_PRIVATE_NETWORKS = True
    # A scratch database of its own, never a test database another run may be using.
    connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_bench_ingest"
    bench_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    server = LoopbackServer().start()
    body = make_feed(ITEMS)
    changed_channel = make_feed(ITEMS, build_date="Tue, 07 Jan 2025 10:00:00 GMT")
    print(f"feed: {ITEMS} items, {len(body) / 1e6:.1f} MB; database {bench_db}; {ROUNDS} rounds")
    parse_s, first_s, second_s, channel_s = [], [], [], []
    try:
        for round_ in range(ROUNDS):
            Episode.objects.all().delete()
            Podcast.objects.all().delete()
            path = f"/feed-{round_}.xml"
            server.routes[path] = Route(body, headers={"Content-Type": "application/rss+xml"})
            url = server.url(path)

            seconds, parsed = timed(lambda: feedparser.parse(io.BytesIO(body)))
            assert len(parsed.entries) == ITEMS
            parse_s.append(seconds)

            seconds, first = timed(lambda url=url: addfeed(url))
            assert first["episodes_created"] == ITEMS, first
            first_s.append(seconds)

            seconds, second = timed(lambda url=url: addfeed(url))
            assert (second["episodes_created"], second["episodes_updated"], second["episodes_total"]) == (0, 0, ITEMS), second
            second_s.append(seconds)

            server.routes[path] = Route(changed_channel, headers={"Content-Type": "application/rss+xml"})
            seconds, third = timed(lambda url=url: addfeed(url))
            assert (third["episodes_created"], third["episodes_updated"]) == (0, 0), third
            channel_s.append(seconds)
            print(
                f"round {round_ + 1}: parse {parse_s[-1]:.2f}s  first {first_s[-1]:.2f}s  "
                f"second {second_s[-1]:.3f}s  channel-only change {channel_s[-1]:.2f}s"
            )
    finally:
        server.stop()
        connection.creation.destroy_test_db(bench_db, verbosity=0)
    parse, first, second, channel = (statistics.median(v) for v in (parse_s, first_s, second_s, channel_s))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"median: parse {parse:.2f}s first {first:.2f}s second {second:.3f}s channel-only {channel:.2f}s")
    print(f"info: channel-only-change/first={channel / first:.2f} (every item hashed and compared, none written)")
    print(f"RESULT ingest first/parse={first / parse:.2f} second/first={second / first:.3f} peak_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
