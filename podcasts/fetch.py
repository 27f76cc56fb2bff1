"""The one outbound HTTP fetcher: every feed, audio file and transcript goes through it.

Rules (DESIGN.md "Rules for untrusted input"): http/https only; every redirect
hop re-checked; the address actually connected to must be public unless
FETCH_ALLOW_PRIVATE_NETWORKS; connect and read timeouts plus an overall deadline;
a byte cap counted on decompressed bytes; Content-Length is never trusted.

Built on the standard library's http.client so the socket is ours: the peer
address is checked after connecting and before a single byte is sent, which
also defeats DNS rebinding (the name is resolved once, by the connect).
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import ssl
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from django.conf import settings

logger = logging.getLogger("castnotes.fetch")

MAX_REDIRECTS = 5
CHUNK_SIZE = 64 * 1024
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A fetch that did not produce a usable response. `transient` faults are worth a retry."""

    transient = False


class UnsafeURL(FetchError):
    """The URL's scheme or form is not allowed (only http and https are)."""


class BlockedAddress(FetchError):
    """The host resolved to an address that is not public."""


class ResponseTooLarge(FetchError):
    """More bytes than the cap, counted after decompression."""


class FetchTimeout(FetchError):
    transient = True


class FetchConnectionError(FetchError):
    transient = True


class TooManyRedirects(FetchError):
    pass


class BadContentEncoding(FetchError):
    pass


def shown_url(url: str) -> str:
    """`url` as it may appear in an error, a log line or a curation item: scheme, host, port
    and path only. Query strings and user:password@ carry private-feed tokens and keys."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme or host else parts.path
    return shown[:200] + ("?…" if parts.query else "")


class HTTPStatusError(FetchError):
    def __init__(self, status: int, url: str):
        super().__init__(f"HTTP {status} from {shown_url(url)}")
        self.status = status
        self.transient = status in (408, 425, 429) or status >= 500


# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits: 64:ff9b::7f00:1 is 127.0.0.1
# behind a NAT64 gateway. The local-use prefix (RFC 8215) embeds it in ways only its operator knows.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
WEB_PORTS = (80, 443)


def allowed_networks() -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]]:
    """FETCH_ALLOWED_NETWORKS as (network, port): "10.1.2.0/24" trusts ports 80 and 443 only,
    "10.1.2.3/32:8080" or "[fd00::/8]:8080" that one port too."""
    entries = []
    for entry in settings.FETCH_ALLOWED_NETWORKS:
        entry = entry.strip()
        port = None
        if entry.startswith("["):
            network, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        elif entry.count(":") == 1:
            network, _, port_text = entry.partition(":")
            port = int(port_text)
        else:
            network = entry
        entries.append((ipaddress.ip_network(network, strict=False), port))
    return entries


def address_is_allowed(address: str, port: int | None = None) -> bool:
    """True for a public unicast address; IPv4-mapped, 6to4 and NAT64 IPv6 are judged as their
    IPv4. A trusted network (FETCH_ALLOWED_NETWORKS) is trusted on the web ports, or on the
    port its entry names: never on every port (a redirect reached localhost:6379 that way)."""
    if settings.FETCH_ALLOW_PRIVATE_NETWORKS:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    for network, trusted_port in allowed_networks():
        if ip in network and (port == trusted_port or (trusted_port is None and port in (None, *WEB_PORTS))):
            return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return False
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in NAT64_WELL_KNOWN:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not ip.is_multicast


def redirect_port_allowed(port: int) -> bool:
    """A redirect is followed to ports 80 and 443, or to a port a trusted network names."""
    if port in WEB_PORTS or settings.FETCH_ALLOW_PRIVATE_NETWORKS:
        return True
    return any(trusted_port == port for _network, trusted_port in allowed_networks())


def _check_url(url: str) -> tuple[str, str, int, str]:
    """Return (scheme, host, port, path+query) or raise UnsafeURL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"Not a valid URL: {shown_url(url)}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL(f"Only http and https URLs can be fetched, not {scheme or 'a bare path'}: {shown_url(url)}")
    if not parts.hostname:
        raise UnsafeURL(f"URL has no host: {shown_url(url)}")
    if parts.username or parts.password:
        raise UnsafeURL("URLs with credentials are not fetched.")
    try:
        host = parts.hostname.encode("idna").decode("ascii") if not _is_ip_literal(parts.hostname) else parts.hostname
    except UnicodeError as exc:
        raise UnsafeURL(f"Invalid host name in {shown_url(url)}") from exc
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def check_url(url: str) -> None:
    """Raise UnsafeURL unless `url` is an http(s) URL this fetcher would try (no network access)."""
    _check_url(url)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Deadline:
    def __init__(self, seconds: float):
        self.expires = time.monotonic() + seconds
        self.seconds = seconds

    def remaining(self) -> float:
        left = self.expires - time.monotonic()
        if left <= 0:
            raise FetchTimeout(f"Gave up after the {self.seconds:g} s deadline.")
        return left


def _connect(scheme: str, host: str, port: int, deadline: _Deadline) -> http.client.HTTPConnection:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchConnectionError(f"Could not resolve {host}.") from exc
    # Vet every resolved address before connecting, then connect to a vetted one:
    # nothing is sent to a private address, and a rebinding DNS answer cannot swap it.
    allowed = [info for info in infos if address_is_allowed(info[4][0], port)]
    if not allowed:
        shown = ", ".join(sorted({info[4][0] for info in infos}))
        raise BlockedAddress(f"Refused to fetch from {host}: it resolves to a non-public address ({shown}).")
    sock = None
    last_error: OSError | None = None
    for family, socktype, proto, _canonname, sockaddr in allowed:
        candidate = socket.socket(family, socktype, proto)
        candidate.settimeout(min(settings.FETCH_CONNECT_TIMEOUT, deadline.remaining()))
        try:
            candidate.connect(sockaddr)
        except TimeoutError as exc:
            candidate.close()
            raise FetchTimeout(f"Timed out connecting to {host}.") from exc
        except OSError as exc:
            candidate.close()
            last_error = exc
            continue
        sock = candidate
        break
    if sock is None:
        raise FetchConnectionError(f"Could not connect to {host}: {getattr(last_error, 'strerror', None) or last_error}.")
    peer = sock.getpeername()[0]
    if not address_is_allowed(peer, port):  # belt and braces: judge the address actually connected
        sock.close()
        raise BlockedAddress(f"Refused to fetch from {host}: connected address {peer} is not public.")
    sock.settimeout(min(settings.FETCH_READ_TIMEOUT, deadline.remaining()))
    if scheme == "https":
        context = ssl.create_default_context()
        try:
            sock = context.wrap_socket(sock, server_hostname=host)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise FetchConnectionError(f"TLS handshake with {host} failed: {exc}.") from exc
        conn = http.client.HTTPSConnection(host, port, context=context)
    else:
        conn = http.client.HTTPConnection(host, port)
    conn.sock = sock
    return conn


@dataclass
class StreamResponse:
    url: str
    status: int
    headers: dict[str, str]
    _response: http.client.HTTPResponse = field(repr=False)
    _deadline: _Deadline = field(repr=False)
    _sock: socket.socket = field(repr=False)
    bytes_received: int = 0

    def iter_bytes(self, *, max_bytes: int) -> Iterator[bytes]:
        """Yield the decompressed body in chunks; raise ResponseTooLarge past `max_bytes`."""
        encoding = self.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            decoder = zlib.decompressobj(47)  # 47: gzip or zlib header, detected
        elif encoding in ("identity", ""):
            decoder = None
        else:
            raise BadContentEncoding(f"Unsupported Content-Encoding {encoding!r}.")
        produced = 0

        def counted(chunk: bytes) -> bytes:
            nonlocal produced
            produced += len(chunk)
            if produced > max_bytes:
                raise ResponseTooLarge(f"Response from {shown_url(self.url)} is larger than {max_bytes} bytes.")
            return chunk

        while True:
            # Each read waits at most the read timeout and never past the overall deadline,
            # so a server dripping one byte at a time still ends at the deadline.
            self._sock.settimeout(min(settings.FETCH_READ_TIMEOUT, self._deadline.remaining()))
            try:
                raw = self._response.read1(CHUNK_SIZE)
            except TimeoutError as exc:
                raise FetchTimeout(f"Timed out reading {shown_url(self.url)}.") from exc
            except (http.client.HTTPException, OSError) as exc:
                raise FetchConnectionError(f"Connection broke while reading {shown_url(self.url)}: {exc}.") from exc
            self._deadline.remaining()
            if not raw:
                break
            self.bytes_received += len(raw)
            if decoder is None:
                yield counted(raw)
                continue
            data = raw
            while data:
                try:
                    # Bounded output per step: a gzip bomb never inflates past the cap in memory.
                    out = decoder.decompress(data, CHUNK_SIZE)
                except zlib.error as exc:
                    raise BadContentEncoding(f"Corrupt {encoding} body from {shown_url(self.url)}.") from exc
                if out:
                    yield counted(out)
                data = decoder.unconsumed_tail
        declared = self.headers.get("content-length", "").strip()
        if declared.isdigit() and self.bytes_received < int(declared):
            # http.client ends a body cut short by the peer quietly: a truncated document is a fault, not data.
            raise FetchConnectionError(
                f"Connection closed after {self.bytes_received} of {declared} bytes from {shown_url(self.url)}."
            )
        if decoder is not None:
            tail = decoder.flush()
            if tail:
                yield counted(tail)

    def read(self, *, max_bytes: int) -> bytes:
        return b"".join(self.iter_bytes(max_bytes=max_bytes))


@contextmanager
def fetch_stream(
    url: str, *, deadline: float, headers: dict[str, str] | None = None, method: str = "GET"
) -> Iterator[StreamResponse]:
    """Open `url`, following redirects (each hop re-checked); yield the final response.

    Any status other than 2xx or 304 raises HTTPStatusError.
    """
    budget = _Deadline(deadline)
    request_headers = {
        "User-Agent": settings.FETCH_USER_AGENT,
        "Accept-Encoding": "gzip, deflate",
        "Connection": "close",
        **(headers or {}),
    }
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = _check_url(current)
        conn = _connect(scheme, host, port, budget)
        sock = conn.sock  # http.client drops conn.sock once a "close" response is read
        try:
            try:
                conn.request(method, path, headers={**request_headers, "Host": _host_header(host, port, scheme)})
                response = conn.getresponse()
            except TimeoutError as exc:
                raise FetchTimeout(f"Timed out waiting for {shown_url(current)}.") from exc
            except (http.client.HTTPException, OSError) as exc:
                raise FetchConnectionError(f"Request to {shown_url(current)} failed: {exc}.") from exc
            response_headers = {k.lower(): v for k, v in response.getheaders()}
            if response.status in REDIRECT_STATUSES:
                location = response_headers.get("location")
                if not location:
                    raise HTTPStatusError(response.status, current)
                logger.info("fetch_redirect", extra={"event": "fetch_redirect", "status": response.status})
                current = urljoin(current, location)
                hop_port = _check_url(current)[2]
                if not redirect_port_allowed(hop_port):
                    raise UnsafeURL(f"Refused a redirect to port {hop_port}: only ports 80 and 443 are followed.")
                continue
            if response.status != 304 and not 200 <= response.status < 300:
                raise HTTPStatusError(response.status, current)
            yield StreamResponse(
                url=current, status=response.status, headers=response_headers, _response=response, _deadline=budget, _sock=sock
            )
            return
        finally:
            conn.close()
    raise TooManyRedirects(f"More than {MAX_REDIRECTS} redirects starting at {shown_url(url)}.")


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return shown if port == default else f"{shown}:{port}"


@dataclass
class FetchResult:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    not_modified: bool

    @property
    def etag(self) -> str:
        return self.headers.get("etag", "")[:500]

    @property
    def last_modified(self) -> str:
        return self.headers.get("last-modified", "")[:100]


def fetch_bytes(
    url: str,
    *,
    max_bytes: int,
    deadline: float | None = None,
    etag: str = "",
    last_modified: str = "",
    accept: str = "*/*",
) -> FetchResult:
    """Fetch a whole (small) document: a feed or a transcript. Conditional GET when validators are given."""
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with fetch_stream(url, deadline=deadline or settings.FETCH_FEED_DEADLINE, headers=headers) as response:
        if response.status == 304:
            return FetchResult(url=response.url, status=304, headers=response.headers, body=b"", not_modified=True)
        body = response.read(max_bytes=max_bytes)
        return FetchResult(url=response.url, status=response.status, headers=response.headers, body=body, not_modified=False)
