"""The feed commands: addfeed, pollfeeds, importopml, exportopml, demo; and the feeds job."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from podcasts.feed_tasks import refresh_podcast
from podcasts.models import Episode, Podcast
from tests.support.httpserver import Route

ROOT = Path(__file__).resolve().parents[2]


def feed(title: str, count: int, slug: str = "show") -> bytes:
    items = "".join(
        f'<item><title>{title} {n}</title><guid isPermaLink="false">{slug}-{n}</guid>'
        f'<enclosure url="https://cdn.example.com/{slug}/{n}.mp3" type="audio/mpeg"/></item>'
        for n in range(count)
    )
    return f"<rss version='2.0'><channel><title>{title}</title><link>https://example.com/{slug}</link>{items}</channel></rss>".encode()


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_addfeed_json_prints_one_object_and_a_second_run_changes_nothing(http_server):
    http_server.routes["/feed"] = Route(feed("Alpha", 3))

    first = json.loads(run("addfeed", http_server.url("/feed"), "--json"))
    second = json.loads(run("addfeed", http_server.url("/feed"), "--json"))

    podcast = Podcast.objects.get()
    assert first == {
        "podcast_id": podcast.pk,
        "title": "Alpha",
        "episodes_created": 3,
        "episodes_updated": 0,
        "episodes_total": 3,
    }
    assert second == {**first, "episodes_created": 0}


@pytest.mark.django_db
def test_addfeed_text_output_names_the_podcast(http_server):
    http_server.routes["/feed"] = Route(feed("Beta", 2))

    output = run("addfeed", http_server.url("/feed"))

    assert output.startswith("Beta (podcast ") and "2 new, 0 updated, 0 unchanged, 2 episodes." in output


@pytest.mark.django_db
def test_addfeed_hostile_feed_is_a_command_error_and_stores_nothing(http_server):
    http_server.routes["/feed"] = Route(
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><rss><channel><title>&x;</title></channel></rss>'
    )

    with pytest.raises(CommandError, match="DOCTYPE"):
        run("addfeed", http_server.url("/feed"))

    assert Podcast.objects.count() == 0


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory):
    """A migrated SQLite file for commands run as real processes."""
    path = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    result = _manage("migrate", "--noinput", database=path)
    assert result.returncode == 0, result.stderr
    return path


def _manage(*args, database):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SECRET_KEY": "test-only",
        "FETCH_ALLOW_PRIVATE_NETWORKS": "0",
    }
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )


@pytest.mark.parametrize(
    "args",
    [
        ["addfeed", "/etc/passwd"],
        ["addfeed", "file:///etc/passwd"],
        ["addfeed", "ftp://example.com/feed.xml"],
        ["addfeed", "gopher://example.com/1", "--json"],
        ["addfeed", "http://127.0.0.1:9/feed.xml"],
        ["importopml", "/nonexistent/feeds.opml"],
    ],
)
def test_bad_input_exits_nonzero_with_one_line_on_stderr_and_no_traceback(args, cli_database):
    result = _manage(*args, database=cli_database)

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: ") and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_importopml_with_a_doctype_exits_nonzero_with_one_line(tmp_path, cli_database):
    opml = tmp_path / "evil.opml"
    opml.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml><body><outline xmlUrl="&x;"/></body></opml>'
    )

    result = _manage("importopml", str(opml), database=cli_database)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["CommandError: Refused: the OPML declares a DOCTYPE or entities."]


@pytest.mark.django_db
def test_pollfeeds_json_prints_a_list_with_one_object_per_active_feed(http_server):
    http_server.routes["/a"] = Route(feed("A", 2, slug="a"))
    http_server.routes["/b"] = Route(feed("B", 1, slug="b"))
    run("addfeed", http_server.url("/a"))
    run("addfeed", http_server.url("/b"))
    http_server.routes["/b"] = Route(feed("B", 2, slug="b"))

    polled = json.loads(run("pollfeeds", "--json"))

    assert sorted((p["title"], p["episodes_created"], p["episodes_total"]) for p in polled) == [("A", 0, 2), ("B", 1, 2)]
    assert set(polled[0]) == {"podcast_id", "title", "episodes_created", "episodes_updated", "episodes_total"}


@pytest.mark.django_db
def test_pollfeeds_reports_a_failing_feed_and_keeps_going(http_server):
    http_server.routes["/a"] = Route(feed("A", 1))
    http_server.routes["/b"] = Route(feed("B", 1))
    run("addfeed", http_server.url("/a"))
    run("addfeed", http_server.url("/b"))
    http_server.routes["/a"] = Route(b"nope", status=404)

    polled = {p["title"]: p for p in json.loads(run("pollfeeds", "--json"))}

    assert "HTTP 404" in polled["A"]["error"] and "error" not in polled["B"]
    assert Podcast.objects.get(title="A").consecutive_failures == 1


@pytest.mark.django_db
def test_importopml_adds_and_ingests_feeds_and_skips_invalid_and_known_ones(
    http_server, tmp_path, django_capture_on_commit_callbacks
):
    http_server.routes["/one"] = Route(feed("One", 2, slug="one"))
    http_server.routes["/two"] = Route(feed("Two", 1, slug="two"))
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        f"""<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>
        <outline text="Group"><outline type="rss" text="One" xmlUrl="{http_server.url("/one")}"/></outline>
        <outline type="rss" text="Two" xmlurl="{http_server.url("/two")}"/>
        <outline type="rss" text="Again" xmlUrl="{http_server.url("/one")}"/>
        <outline type="rss" text="Bad" xmlUrl="ftp://example.com/x.xml"/>
        </body></opml>"""
    )

    with django_capture_on_commit_callbacks(execute=True):
        summary = json.loads(run("importopml", str(opml), "--json"))
    again = json.loads(run("importopml", str(opml), "--json"))

    assert summary == {"added": 2, "existing": 1, "invalid": ["ftp://example.com/x.xml"]}
    assert again == {"added": 0, "existing": 3, "invalid": ["ftp://example.com/x.xml"]}
    # Without REDIS_URL the feeds job ran in-process on commit: both feeds are ingested.
    assert sorted(Podcast.objects.values_list("title", flat=True)) == ["One", "Two"]
    assert Episode.objects.count() == 3


@pytest.mark.django_db
def test_importopml_refuses_a_file_that_is_not_opml(tmp_path):
    path = tmp_path / "x.opml"
    path.write_text("<rss><channel/></rss>")

    with pytest.raises(CommandError, match="Not an OPML file"):
        run("importopml", str(path))
    path.write_text("<opml><body>")
    with pytest.raises(CommandError, match="Not valid OPML"):
        run("importopml", str(path))


@pytest.mark.django_db
def test_exportopml_lists_active_feeds_and_round_trips(http_server, tmp_path):
    http_server.routes["/one"] = Route(feed("One &amp; Co", 1, slug="one"))
    http_server.routes["/two"] = Route(feed("Two", 1, slug="two"))
    run("addfeed", http_server.url("/one"))
    run("addfeed", http_server.url("/two"))
    Podcast.objects.filter(title="Two").update(status=Podcast.Status.DISABLED)

    exported = run("exportopml")

    outlines = ET.fromstring(exported).findall("./body/outline")
    assert [(o.get("text"), o.get("xmlUrl"), o.get("htmlUrl")) for o in outlines] == [
        ("One & Co", http_server.url("/one"), "https://example.com/one")
    ]
    Podcast.objects.all().delete()
    path = tmp_path / "export.opml"
    path.write_text(exported)
    assert json.loads(run("importopml", str(path), "--json"))["added"] == 1
    assert Podcast.objects.get().feed_url == http_server.url("/one")


@pytest.mark.django_db
def test_refresh_podcast_job_is_thin_and_idempotent(http_server):
    http_server.routes["/feed"] = Route(feed("Job", 2))
    podcast = Podcast.objects.create(feed_url=http_server.url("/feed"))

    refresh_podcast(podcast.pk)
    refresh_podcast(podcast.pk)
    refresh_podcast(999_999)  # deleted meanwhile: a no-op

    podcast.refresh_from_db()
    assert podcast.title == "Job" and podcast.episodes.count() == 2 and podcast.consecutive_failures == 0


@pytest.mark.django_db
def test_demo_ingests_the_bundled_feed_over_loopback_and_is_repeatable(settings):
    settings.FETCH_ALLOW_PRIVATE_NETWORKS = False

    first = run("demo")
    second = run("demo")

    podcast = Podcast.objects.get()
    assert podcast.title == "Castnotes Sample Podcast"
    assert sorted(
        e.enclosure_url.rsplit("/", 2)[-2] + "/" + e.enclosure_url.rsplit("/", 1)[-1] for e in podcast.episodes.all()
    ) == [
        "audio/episode-1.mp3",
        "audio/episode-2.mp3",
        "audio/episode-3.mp3",
    ]
    assert "3 new" in first and "0 new" in second
    assert django_settings.FETCH_ALLOW_PRIVATE_NETWORKS is False  # forced on only during the ingest
    # Every sample episode went through; the newest is then replayed for the live status (left queued).
    assert sorted(podcast.episodes.values_list("pipeline_status", flat=True)) == ["downloaded", "summarized", "summarized"]
    assert "log in as 'premium'" in first


@pytest.mark.django_db
def test_demo_runs_the_pipeline_itself_when_redis_is_configured(settings, redis_queues, media_root):
    """With REDIS_URL set and no worker running, the demo still ends with summaries: it drives the
    stages while its sample server is up, and the jobs it queued on the way become no-ops."""
    run("demo")

    podcast = Podcast.objects.get()
    # Every sample episode went through; the newest is then replayed for the live status (left queued).
    assert sorted(podcast.episodes.values_list("pipeline_status", flat=True)) == ["downloaded", "summarized", "summarized"]
    assert all(episode.summaries.exists() for episode in podcast.episodes.all())


@pytest.mark.django_db(transaction=True)
def test_importopml_with_redis_enqueues_refresh_jobs_that_a_real_worker_runs(http_server, tmp_path, settings, redis_url):
    """With REDIS_URL the import only enqueues (ids, JSON); an RQ worker on `feeds` then ingests each feed."""
    import django_rq
    from rq import SimpleWorker

    settings.REDIS_URL = redis_url
    settings.RQ_QUEUES = {name: {**conf, "URL": redis_url} for name, conf in settings.RQ_QUEUES.items()}
    http_server.routes["/one"] = Route(feed("One", 2, slug="one"))
    path = tmp_path / "feeds.opml"
    path.write_text(
        f'<opml version="2.0"><body><outline type="rss" text="One" xmlUrl="{http_server.url("/one")}"/></body></opml>'
    )

    assert json.loads(run("importopml", str(path), "--json"))["added"] == 1
    queue = django_rq.get_queue("feeds")
    assert queue.count == 1 and Episode.objects.count() == 0
    assert list(queue.jobs[0].args) == [Podcast.objects.get().pk]  # an id, never an object
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)

    podcast = Podcast.objects.get()
    assert podcast.title == "One" and podcast.episodes.count() == 2
