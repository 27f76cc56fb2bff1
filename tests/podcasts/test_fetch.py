"""The one outbound fetcher against a real loopback server: policy, caps, deadlines."""

import gzip
import time

import pytest

from podcasts.fetch import (
    BlockedAddress,
    FetchConnectionError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
    TooManyRedirects,
    UnsafeURL,
    fetch_bytes,
    fetch_stream,
)
from tests.support.httpserver import Route


def test_fetches_body_and_validators(http_server):
    http_server.routes["/feed"] = Route(b"<rss/>", headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"})

    result = fetch_bytes(http_server.url("/feed"), max_bytes=1000)

    assert result.body == b"<rss/>"
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert not result.not_modified


def test_conditional_get_sends_validators_and_reports_not_modified(http_server):
    http_server.routes["/feed"] = Route(b"", status=304)

    result = fetch_bytes(http_server.url("/feed"), max_bytes=1000, etag='"v1"', last_modified="Wed, 01 Jan 2025 00:00:00 GMT")

    assert result.not_modified
    sent = http_server.requests[-1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Wed, 01 Jan 2025 00:00:00 GMT"


def test_gzip_body_is_decompressed(http_server):
    http_server.routes["/feed"] = Route(gzip.compress(b"<rss>" + b"x" * 5000 + b"</rss>"), headers={"Content-Encoding": "gzip"})

    result = fetch_bytes(http_server.url("/feed"), max_bytes=10_000)

    assert result.body.startswith(b"<rss>") and len(result.body) == 5011


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed.xml", "gopher://example.com/", "file:///etc/passwd", "/etc/passwd", "javascript:alert(1)"]
)
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(UnsafeURL):
        fetch_bytes(url, max_bytes=1000)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
    ],
)
def test_private_addresses_are_refused_before_connecting(settings, url):
    settings.FETCH_ALLOW_PRIVATE_NETWORKS = False

    with pytest.raises(BlockedAddress):
        fetch_bytes(url, max_bytes=1000)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/secret",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_every_redirect_hop_is_rechecked(trusted_server, target):
    trusted_server.routes["/feed"] = Route(status=302, headers={"Location": target.format(port=trusted_server.port)})

    with pytest.raises(BlockedAddress):
        fetch_bytes(trusted_server.url("/feed"), max_bytes=1000)


def test_redirect_to_a_forbidden_scheme_is_refused(trusted_server):
    trusted_server.routes["/feed"] = Route(status=301, headers={"Location": "file:///etc/passwd"})

    with pytest.raises(UnsafeURL):
        fetch_bytes(trusted_server.url("/feed"), max_bytes=1000)


def test_allowed_redirect_is_followed(http_server):
    http_server.routes["/old"] = Route(status=301, headers={"Location": "/new"})
    http_server.routes["/new"] = Route(b"moved here")

    result = fetch_bytes(http_server.url("/old"), max_bytes=1000)

    assert result.body == b"moved here"
    assert result.url.endswith("/new")


def test_redirect_loop_stops(http_server):
    http_server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})

    with pytest.raises(TooManyRedirects):
        fetch_bytes(http_server.url("/loop"), max_bytes=1000)


def test_body_over_the_cap_with_a_lying_content_length_is_cut_off(http_server):
    def lying(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.end_headers()  # no Content-Length: the body runs until close
        for _ in range(100):
            handler.wfile.write(b"y" * 10_000)
        handler.close_connection = True

    def lying_length(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "10")
        handler.end_headers()
        handler.wfile.write(b"z" * 50_000)
        handler.close_connection = True

    http_server.routes["/big"] = lying
    http_server.routes["/lying"] = lying_length

    with pytest.raises(ResponseTooLarge):
        fetch_bytes(http_server.url("/big"), max_bytes=100_000)
    # http.client stops at the declared length, so a lying Content-Length never yields more than it claims.
    assert len(fetch_bytes(http_server.url("/lying"), max_bytes=100_000).body) == 10


def test_body_cut_short_of_its_content_length_is_a_transient_fault(http_server):
    def cut(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "10000")
        handler.end_headers()
        handler.wfile.write(b"<rss>" + b"x" * 100)
        handler.close_connection = True

    http_server.routes["/cut"] = cut

    with pytest.raises(FetchConnectionError) as caught:
        fetch_bytes(http_server.url("/cut"), max_bytes=100_000)
    assert caught.value.transient


def test_gzip_bomb_is_stopped_at_the_decompressed_cap(http_server):
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))  # 50 MB of zeros, ~50 KB on the wire
    http_server.routes["/bomb"] = Route(bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(ResponseTooLarge):
        fetch_bytes(http_server.url("/bomb"), max_bytes=1024 * 1024)


def test_server_dripping_bytes_is_stopped_at_the_deadline(http_server, settings):
    settings.FETCH_READ_TIMEOUT = 5

    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        try:
            for _ in range(1000):
                handler.wfile.write(b"a")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass  # the client hung up, as it should

    http_server.routes["/drip"] = drip
    started = time.monotonic()

    with pytest.raises(FetchTimeout):
        fetch_bytes(http_server.url("/drip"), max_bytes=100_000, deadline=1.0)
    assert time.monotonic() - started < 2.5


def test_server_that_never_answers_times_out(http_server, settings):
    settings.FETCH_READ_TIMEOUT = 0.5

    def hang(handler):
        time.sleep(3)

    http_server.routes["/hang"] = hang

    with pytest.raises(FetchTimeout):
        fetch_bytes(http_server.url("/hang"), max_bytes=1000, deadline=5)


@pytest.mark.parametrize(("status", "transient"), [(404, False), (410, False), (500, True), (503, True), (429, True)])
def test_http_errors_say_whether_a_retry_can_help(http_server, status, transient):
    http_server.routes["/x"] = Route(b"nope", status=status)

    with pytest.raises(HTTPStatusError) as caught:
        fetch_bytes(http_server.url("/x"), max_bytes=1000)
    assert caught.value.status == status
    assert caught.value.transient is transient


def test_stream_yields_chunks_and_counts_received_bytes(http_server):
    http_server.routes["/audio"] = Route(b"A" * 200_000, headers={"Content-Type": "audio/mpeg"})

    with fetch_stream(http_server.url("/audio"), deadline=10) as response:
        chunks = list(response.iter_bytes(max_bytes=1_000_000))

    assert b"".join(chunks) == b"A" * 200_000
    assert response.bytes_received == 200_000
    assert response.headers["content-type"] == "audio/mpeg"


# --- issue 17 risks: NAT64, trusted networks by host and port, redirect ports ---------------


@pytest.mark.parametrize(
    "url", ["http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "http://[64:ff9b:1::a00:1]/"]
)
def test_nat64_addresses_of_private_ipv4_are_refused(settings, url):
    settings.FETCH_ALLOW_PRIVATE_NETWORKS = False

    with pytest.raises(BlockedAddress):
        fetch_bytes(url, max_bytes=1000)


def test_nat64_of_a_public_ipv4_is_judged_as_that_address():
    from podcasts.fetch import address_is_allowed

    assert address_is_allowed("64:ff9b::5db8:d822")  # 93.184.216.34
    assert not address_is_allowed("64:ff9b::c0a8:1")  # 192.168.0.1


def test_a_trusted_network_is_trusted_on_its_port_not_on_every_port(trusted_server):
    """A hostile redirect from a trusted feed host once reached another service on the same address."""
    from tests.support.httpserver import LoopbackServer

    other = LoopbackServer(host="127.0.0.2").start()  # another service on the trusted address
    try:
        other.routes["/secret"] = Route(b"internal")
        trusted_server.routes["/feed"] = Route(status=302, headers={"Location": other.url("/secret")})
        trusted_server.routes["/ok"] = Route(b"<rss/>")

        assert fetch_bytes(trusted_server.url("/ok"), max_bytes=1000).body == b"<rss/>"
        with pytest.raises(UnsafeURL, match=f"redirect to port {other.port}"):
            fetch_bytes(trusted_server.url("/feed"), max_bytes=1000)
        with pytest.raises(BlockedAddress):
            fetch_bytes(other.url("/secret"), max_bytes=1000)
        assert other.requests == []
    finally:
        other.stop()


def test_a_network_trusted_without_a_port_is_trusted_on_web_ports_only(trusted_server, settings):
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    trusted_server.routes["/ok"] = Route(b"x")

    with pytest.raises(BlockedAddress):
        fetch_bytes(trusted_server.url("/ok"), max_bytes=1000)


def test_a_redirect_to_an_unusual_port_of_a_public_host_is_not_followed(trusted_server):
    trusted_server.routes["/feed"] = Route(status=301, headers={"Location": "http://93.184.216.34:6379/"})

    with pytest.raises(UnsafeURL, match="redirect to port 6379"):
        fetch_bytes(trusted_server.url("/feed"), max_bytes=1000)
