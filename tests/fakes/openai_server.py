"""A local fake OpenAI-compatible server (`/v1/chat/completions`, `/v1/models`) for tests and benchmarks.

A threaded http.server on 127.0.0.1:<free port>, as tests/fakes/anthropic_server.py,
whose summary of a request's transcript lines it reuses. Each test scripts replies
(`server.script(...)`); unscripted requests get a valid summary of what was sent,
as JSON text. Every request body is recorded.

Knobs for the faults a real server shows:
- `formats`: the response_format types accepted (others get llama-cpp-python's 500,
  "Input should be 'text' or 'json_object'"); "text" is a request without one.
- `prompt_tokens_factor`: the share of the prompt the server reports reading, as
  Ollama does when it cuts a prompt to its context window.
Token counts are estimated at 4 characters per token of the messages.
"""

import json
import math
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.anthropic_server import Reply, summary_of_request

CHARS_PER_TOKEN = 4.0
FORMAT_REFUSAL = "1 validation error: response_format.type Input should be 'text' or 'json_object'"

Responder = Callable[[dict], Reply]


def prompt_tokens(body: dict) -> int:
    return math.ceil(sum(len(m.get("content") or "") for m in body.get("messages", [])) / CHARS_PER_TOKEN) + 20


def completion(
    content: str | None, *, finish_reason: str = "stop", prompt: int = 1000, output: int | None = None, usage: bool = True
) -> dict:
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "fake-local-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
    }
    if usage:
        output = output if output is not None else math.ceil(len(content or "") / CHARS_PER_TOKEN)
        body["usage"] = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}
    return body


def text_reply(text: str | None, **kwargs) -> Responder:
    """A reply with this content, reporting the true prompt size of the request it answers."""
    return lambda body: Reply(body=completion(text, prompt=prompt_tokens(body), **kwargs))


def json_reply(summary: Any, **kwargs) -> Responder:
    return text_reply(json.dumps(summary), **kwargs)


def error_reply(status: int, message: str = "fake error", *, headers: dict[str, str] | None = None, delay: float = 0.0) -> Reply:
    return Reply(
        status=status,
        body={"error": {"message": message, "type": "server_error", "code": status}},
        headers=headers or {},
        delay=delay,
    )


def summary_reply(body: dict) -> Reply:
    return json_reply(summary_of_request(body))(body)


def format_type(body: dict) -> str:
    return (body.get("response_format") or {}).get("type", "text")


class FakeOpenAI:
    def __init__(self, default: Responder = summary_reply):
        self.default = default
        self.formats = {"json_schema", "json_object", "text"}
        self.prompt_tokens_factor = 1.0
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self._script: deque[Reply | Responder] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def script(self, *replies: Reply | Responder) -> None:
        with self._lock:
            self._script.extend(replies)

    def _next(self, body: dict) -> Reply:
        with self._lock:
            self.requests.append(body)
            if format_type(body) not in self.formats:
                return Reply(status=500, body={"error": {"message": FORMAT_REFUSAL, "type": "internal_server_error"}})
            item = self._script.popleft() if self._script else self.default
        reply = item(body) if callable(item) else item
        usage = (reply.body or {}).get("usage") if isinstance(reply.body, dict) else None
        if usage and self.prompt_tokens_factor != 1.0:
            usage["prompt_tokens"] = int(usage["prompt_tokens"] * self.prompt_tokens_factor)
        return reply

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def sent_text(self) -> str:
        return "\n".join(m.get("content") or "" for body in self.requests for m in body.get("messages", []))

    def start(self) -> "FakeOpenAI":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path.split("?")[0] == "/v1/models":
                    self._send(Reply(body={"object": "list", "data": [{"id": "fake-local-model", "object": "model"}]}))
                else:
                    self._send(error_reply(404, "not found"))

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparseable": raw.decode("utf-8", "replace")}
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.split("?")[0] != "/v1/chat/completions":
                    self._send(error_reply(404, "not found"))
                else:
                    self._send(fake._next(body))

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    fake._release.wait(reply.delay)  # a hanging server; released on stop()
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
