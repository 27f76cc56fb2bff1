"""Feed URLs are shown without query string or credentials in errors, logs and reports
(issue 17, defect 8): `HTTP 404 from http://host/feed.xml?token=SECRET` leaked the token."""

import logging

import pytest

from podcasts.fetch import shown_url
from podcasts.models import Podcast
from podcasts.services import podcast_refresh
from tests.support.httpserver import Route

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://host/feed.xml?token=SECRET", "http://host/feed.xml?…"),
        ("https://bob:hunter2@host:8443/a/feed.xml#frag", "https://host:8443/a/feed.xml"),
        ("https://[2001:db8::1]/f.xml?k=v", "https://[2001:db8::1]/f.xml?…"),
        ("http://[::1", "(invalid URL)"),
    ],
)
def test_shown_url_keeps_scheme_host_port_and_path_only(url, shown):
    assert shown_url(url) == shown


def test_a_failing_private_feed_leaves_its_token_out_of_logs_errors_and_reports(http_server, caplog):
    http_server.routes["/private.xml"] = Route(b"gone", status=404)
    podcast = Podcast.objects.create(feed_url=http_server.url("/private.xml?token=SECRET-TOKEN-42"), title="Private")

    with caplog.at_level(logging.DEBUG):
        report = podcast_refresh(podcast=podcast)

    podcast.refresh_from_db()
    assert report.error.startswith("HTTP 404 from http://127.0.0.1:")
    assert "/private.xml?…" in report.error
    assert "SECRET-TOKEN-42" not in podcast.last_error
    assert "SECRET-TOKEN-42" not in caplog.text
    assert "SECRET-TOKEN-42" not in report.error


def test_a_redirect_loop_on_a_private_feed_names_no_token(http_server):
    from podcasts.fetch import TooManyRedirects, fetch_bytes

    http_server.routes["/loop.xml"] = Route(status=302, headers={"Location": "/loop.xml?token=SECRET-TOKEN-42"})

    with pytest.raises(TooManyRedirects) as raised:
        fetch_bytes(http_server.url("/loop.xml?token=SECRET-TOKEN-42"), max_bytes=1000)

    assert "SECRET-TOKEN-42" not in str(raised.value)
