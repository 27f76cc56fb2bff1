"""A loopback HTTP proxy that records each request and response body on its way to a real server,
so a test or benchmark can check what reached the model (and what the server said it read)."""

import json
import re
import threading
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingProxy:
    def __init__(self, target: str, *, timeout: float = 900.0):
        self.target = target.rstrip("/")  # e.g. http://127.0.0.1:PORT/v1
        self.exchanges: list[tuple[dict, int, dict]] = []  # (request body, status, response body)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                self._forward(self.rfile.read(int(self.headers.get("content-length") or 0)))

            def _forward(self, body: bytes | None):
                path = self.path.removeprefix("/v1")
                request = urllib.request.Request(
                    proxy.target + path, data=body, method=self.command, headers={"content-type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=timeout) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                if body is not None:
                    with proxy._lock:
                        proxy.exchanges.append((json.loads(body), status, _json_or_text(payload)))
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def answered(self) -> list[tuple[dict, dict]]:
        """(request, response) of each request the server answered with 200."""
        return [(request, response) for request, status, response in self.exchanges if status == 200]

    def start(self) -> "RecordingProxy":
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "RecordingProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _json_or_text(payload: bytes):
    try:
        return json.loads(payload)
    except ValueError:
        return {"_text": payload.decode("utf-8", "replace")}


def sent_text(request: dict) -> str:
    return "\n".join(m.get("content") or "" for m in request.get("messages", []))


_TRANSCRIPT = re.compile(r"<transcript>\n(.*?)\n</transcript>", re.DOTALL)
_STAMP = re.compile(r"^\[[0-9:]+\] ", re.MULTILINE)


def _words(text: str) -> Counter:
    return Counter(re.findall(r"[\w']+", text.lower()))


def transcript_coverage(proxy: RecordingProxy, segments: list[dict]) -> float:
    """Share of the transcript's words (with repeats) found in the transcripts of the requests
    the server answered: 1.0 when every word reached the model."""
    sent = Counter()
    for request, _ in proxy.answered:
        for match in _TRANSCRIPT.findall(request["messages"][-1]["content"]):
            sent += _words(_STAMP.sub("", match))
    needed = _words(" ".join(s["text"] for s in segments))
    total = sum(needed.values())
    return sum(min(count, sent[word]) for word, count in needed.items()) / total if total else 1.0
