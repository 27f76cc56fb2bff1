"""The deployment shape end to end: the Procfile's processes under honcho on PostgreSQL and Redis.

A feed served on loopback with two short episodes goes through the scheduler's
poll, the worker (download, summary), the whisper worker (transcription) and
comes out on the episode page served by gunicorn, read over HTTP by a
subscriber who logged in over HTTP and got a new-episode email for each. Every line any process logs is JSON, and
none carries an email address, the API key or a password.
"""

import html
import re
import urllib.error
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.contrib.auth import get_user_model

from podcasts.models import Episode, Podcast, Subscription, Transcript
from summaries.models import Summary
from tests.fakes.smtp_server import FakeSMTP
from tests.support import workers
from tests.support.httpserver import Route
from tests.support.pipeline import DEMO_AUDIO
from tests.support.procfile import (
    ProcfileRun,
    collectstatic,
    free_port,
    http_get,
    http_login,
    leaking_lines,
    not_json_lines,
    procfile_env,
)
from tests.support.workers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

API_KEY = "sk-ant-e2e-0000-never-logged-0123456789"
PASSWORD = "e2e-Password-never-logged-42"
EMAIL = "listener@castnotes-e2e.example.org"


@pytest.fixture
def fast_password_hasher():
    """Off here: gunicorn checks the listener's password in its own process, with the real hashers."""


def feed_xml(base_url: str, count: int) -> bytes:
    start = datetime(2025, 11, 1, 9, tzinfo=UTC)
    items = "".join(
        f"""<item><title>Episode {n}</title><guid isPermaLink="false">e2e-episode-{n}</guid>
        <pubDate>{format_datetime(start + timedelta(days=n))}</pubDate>
        <description>Short episode {n}.</description>
        <enclosure url="{base_url}/audio/episode-{n}.mp3" type="audio/mpeg" length="0"/></item>"""
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>E2E Podcast</title>'
        f"<link>{base_url}/</link><description>End-to-end feed.</description><language>en</language>{items}</channel></rss>"
    ).encode()


def http_get_status(url: str, cookies: dict[str, str]) -> int:
    try:
        return http_get(url, cookies)[0]
    except urllib.error.HTTPError as error:
        return error.code


def test_procfile_processes_take_a_loopback_feed_to_summaries_on_the_episode_page_with_json_logs(
    http_server, redis_url, tmp_path
):
    for n in (1, 2):
        http_server.routes[f"/audio/episode-{n}.mp3"] = Route(
            (DEMO_AUDIO / f"episode-{n}.mp3").read_bytes(), headers={"Content-Type": "audio/mpeg"}
        )
    http_server.routes["/feed.xml"] = Route(feed_xml(http_server.url(""), 2), headers={"Content-Type": "application/rss+xml"})
    # The feed was added earlier (a curator approved it); the scheduler's pollfeeds ingests it.
    podcast = Podcast.objects.create(feed_url=http_server.url("/feed.xml"), status=Podcast.Status.ACTIVE)
    listener = get_user_model().objects.create_user("listener", EMAIL, PASSWORD)
    Subscription.objects.create(user=listener, podcast=podcast, notify_new_episodes=True)
    smtp = FakeSMTP().start()

    env = procfile_env(
        database_url=workers.test_database_url(),
        redis_url=redis_url,
        port=free_port(),
        media_root=tmp_path / "media",
        static_root=tmp_path / "static",
        BACKFILL_EPISODES="2",
        SUMMARY_PROVIDER="extractive",
        ANTHROPIC_API_KEY=API_KEY,  # set, never used (extractive), never logged
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
    )
    collectstatic(env)
    run = ProcfileRun(env, tmp_path / "honcho.log").start()
    try:
        run.wait_http("/healthz")
        cookies = http_login(run.base_url(), "listener", PASSWORD, timeout=30)  # a busy CI machine
        wait_for(
            lambda: Summary.objects.filter(episode__podcast=podcast).values("episode").distinct().count() == 2,
            timeout=240,
            interval=0.5,
            what="two summarized episodes",
        )
        wait_for(lambda: len(smtp.messages) == 2, timeout=60, interval=0.5, what="two new-episode emails")
        pages = {}
        for episode in Episode.objects.filter(podcast=podcast):
            pages[episode.pk] = http_get(f"{run.base_url()}/episodes/{episode.pk}/", cookies)
        # Query strings carry whatever people type; none of it may reach the logs.
        missing = http_get_status(f"{run.base_url()}/episodes/999999/?from={EMAIL}&password={PASSWORD}", cookies)
        returncode = run.stop()
    finally:
        run.kill_group()
        smtp.stop()

    episodes = list(Episode.objects.filter(podcast=podcast).order_by("guid"))
    assert [e.pipeline_status for e in episodes] == [Episode.PipelineStatus.SUMMARIZED] * 2
    assert Transcript.objects.filter(episode__podcast=podcast).count() == 2
    for episode in episodes:
        summary = Summary.objects.get(episode=episode)
        status, page = pages[episode.pk]
        assert status == 200
        assert html.escape(summary.content["tldr"]) in page
        assert "Transcript" in page
    assert missing == 404
    assert sorted(rcpt.strip("<>") for _, rcpts, _ in smtp.messages for rcpt in rcpts) == [EMAIL, EMAIL]  # mailed, never logged
    assert returncode == 143  # honcho's own code for "stopped by SIGTERM"; each process's code follows
    output = run.output()
    assert "SIGKILL" not in output
    assert len(re.findall(r"system +\| \S+ stopped \(rc=0\)", output)) == 4  # each process stopped cleanly on SIGTERM
    lines = run.lines()
    processes = {line.process.split(".")[0] for line in lines}
    assert {"web", "worker", "whisper", "scheduler"} <= processes
    assert any('"http_request"' in line.text and "/episodes/" in line.text for line in lines)  # gunicorn access log
    assert not_json_lines(lines) == []
    assert leaking_lines(lines, [API_KEY, PASSWORD, env["DJANGO_SECRET_KEY"]]) == []
