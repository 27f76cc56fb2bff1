"""A local fake of the Anthropic Messages API for tests and benchmarks.

A threaded http.server on 127.0.0.1:<free port>. Each test scripts the replies
(`server.script(...)`); unscripted requests get `default` (a valid summary
built from the transcript that was sent, see `summary_responder`). Every request
body is recorded. The real SDK authenticates with `Authorization: Bearer`, so
no `x-api-key` is required.

Token counts in replies are estimated at 3.5 characters per token of what was
sent (system + messages + tool definitions), roughly Claude's tokenizer on English.
"""

import json
import math
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHARS_PER_TOKEN = 3.5
_LINE = re.compile(r"^\[(?:(\d+):)?(\d+):(\d\d)\] (.+)$", re.MULTILINE)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[dict], Reply]


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def request_text(body: dict) -> str:
    """Everything the model would read: system prompt, messages, tool definitions."""
    parts: list[str] = []
    system = body.get("system", "")
    parts += [b.get("text", "") for b in system] if isinstance(system, list) else [system]
    for message in body.get("messages", []):
        content = message.get("content", "")
        parts += [b.get("text", "") for b in content] if isinstance(content, list) else [content]
    parts.append(json.dumps(body.get("tools", [])))
    return "\n".join(parts)


def user_text(body: dict) -> str:
    message = body["messages"][-1]["content"]
    return message if isinstance(message, str) else " ".join(b.get("text", "") for b in message)


def message(content: list[dict], *, stop_reason: str = "tool_use", input_tokens: int = 1000, output_tokens: int = 300) -> dict:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def tool_reply(summary: Any, **kwargs) -> Reply:
    return Reply(body=message([{"type": "tool_use", "id": "toolu_fake", "name": "record_summary", "input": summary}], **kwargs))


def text_reply(text: str, *, stop_reason: str = "end_turn", **kwargs) -> Reply:
    content = [{"type": "text", "text": text}] if text else []
    return Reply(body=message(content, stop_reason=stop_reason, **kwargs))


def error_reply(status: int, error_type: str, *, headers: dict[str, str] | None = None, delay: float = 0.0) -> Reply:
    return Reply(
        status=status,
        body={"type": "error", "error": {"type": error_type, "message": f"fake {error_type}"}},
        headers=headers or {},
        delay=delay,
    )


def transcript_lines_sent(body: dict) -> list[tuple[float, str]]:
    """(start seconds, text) of each timestamped line in the request's user message."""
    lines = []
    for hours, minutes, seconds, text in _LINE.findall(user_text(body)):
        lines.append((int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds), text.strip()))
    return lines


def summary_from_lines(lines: list[tuple[float, str]]) -> dict:
    """A valid summary of the given lines, sized like a real one (~2.5k characters of JSON),
    whose quotes are real (the first sentence of a line) with that line's time."""

    def first_sentence(text: str) -> str:
        return re.split(r"(?<=[.!?])\s+", text)[0]

    picks = [lines[int(i * (len(lines) - 1) / 6)] for i in range(7)]
    chapter_count = min(max(len(lines) // 20, 1), 8)
    chapters = []
    for n in range(chapter_count):
        start, text = lines[n * len(lines) // chapter_count]
        if not chapters or start > chapters[-1]["start"]:
            words = first_sentence(text).split()[:5]
            chapters.append({"title": " ".join(words).strip(".,!?"), "start": 0 if not chapters else start})
    return {
        "tldr": (
            "The hosts work through several practical subjects in one long conversation, comparing what they tried "
            "with what the research says. They keep returning to small habits that make a large difference over time."
        ),
        "key_points": [
            f"{n + 1}. The discussion covers this: {first_sentence(text)[:220]}" for n, (_, text) in enumerate(picks[:6])
        ],
        "quotes": [{"text": first_sentence(text)[:300], "start": start} for start, text in picks[1:6]],
        "chapters": chapters,
        "topics": ["practical advice", "science", "habits", "community", "history"],
    }


def summary_of_request(body: dict) -> dict:
    """A valid summary of what a request sent (a merge request re-summarizes its parts)."""
    lines = transcript_lines_sent(body)
    if lines:
        return summary_from_lines(lines)
    # A merge of part summaries: keep the first part's quotes and all chapters in order.
    parts = [json.loads(line) for line in user_text(body).splitlines() if line.startswith("{")]
    chapters = sorted({c["start"]: c for p in parts for c in p["chapters"]}.values(), key=lambda c: c["start"])
    return {
        "tldr": parts[0]["tldr"],
        "key_points": [p["key_points"][0] for p in parts][:7]
        + ["Merged point A", "Merged point B", "Merged point C"][: max(0, 3 - len(parts))],
        "quotes": [q for p in parts for q in p["quotes"]][:5],
        "chapters": chapters[:30],
        "topics": parts[0]["topics"],
    }


def summary_responder(body: dict) -> Reply:
    """A realistic successful reply: summary of what was sent (a merge request re-summarizes its parts)."""
    summary = summary_of_request(body)
    output = json.dumps(summary)
    return tool_reply(summary, input_tokens=estimate_tokens(request_text(body)), output_tokens=estimate_tokens(output) + 20)


# --- Message Batches: entries of a results file -------------------------------------


def batch_succeeded(reply: Reply) -> dict:
    return {"type": "succeeded", "message": reply.body}


def batch_errored(error_type: str = "invalid_request_error", message: str = "fake batch entry error") -> dict:
    return {"type": "errored", "error": {"type": "error", "error": {"type": error_type, "message": message}}}


def batch_expired() -> dict:
    return {"type": "expired"}


def batch_canceled() -> dict:
    return {"type": "canceled"}


@dataclass
class FakeBatch:
    id: str
    requests: list[dict]
    processing_status: str = "in_progress"
    results: list[dict] = field(default_factory=list)  # {"custom_id", "result"} once ended

    def as_json(self, base_url: str) -> dict:
        ended = self.processing_status == "ended"
        kinds = [r["result"]["type"] for r in self.results]
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.processing_status,
            "request_counts": {
                "processing": 0 if ended else len(self.requests),
                "succeeded": kinds.count("succeeded"),
                "errored": kinds.count("errored"),
                "canceled": kinds.count("canceled"),
                "expired": kinds.count("expired"),
            },
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-02T00:00:00Z",
            "ended_at": "2026-01-01T01:00:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            # As the real API: an absolute URL, given only once processing has ended.
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


class FakeAnthropic:
    def __init__(self, default: Responder = summary_responder):
        self.default = default
        self.batches: dict[str, FakeBatch] = {}
        self.batch_requests: list[dict] = []
        self.batch_refuse: Reply | None = None  # set to answer POST /v1/messages/batches with an error
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self._script: deque[Reply | Responder] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- scripting ---------------------------------------------------------------
    def script(self, *replies: Reply | Responder) -> None:
        with self._lock:
            self._script.extend(replies)

    def _next(self, body: dict) -> Reply:
        with self._lock:
            self.requests.append(body)
            item = self._script.popleft() if self._script else self.default
        return item(body) if callable(item) else item

    def batch_end(self, batch_id: str, results: dict[str, dict] | None = None) -> FakeBatch:
        """End a batch: each entry gets `results[custom_id]` (see batch_succeeded/batch_errored/...),
        else a reply of `default` to its params, as a synchronous request would."""
        batch = self.batches[batch_id]
        results = results or {}
        batch.results = [
            {"custom_id": r["custom_id"], "result": results.get(r["custom_id"]) or batch_succeeded(self.default(r["params"]))}
            for r in batch.requests
        ]
        batch.processing_status = "ended"
        return batch

    def _batch_create(self, body: dict) -> Reply:
        with self._lock:
            self.batch_requests.append(body)
            if self.batch_refuse is not None:
                return self.batch_refuse
            batch = FakeBatch(id=f"msgbatch_fake{len(self.batches) + 1}", requests=list(body.get("requests", [])))
            self.batches[batch.id] = batch
        return Reply(body=batch.as_json(self.url))

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def sent_text(self) -> str:
        return "\n".join(request_text(body) for body in self.requests)

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> "FakeAnthropic":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparseable": raw.decode("utf-8", "replace")}
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if not self._authorized():
                    reply = error_reply(401, "authentication_error")
                elif self.path.split("?")[0] == "/v1/messages/batches":
                    reply = fake._batch_create(body)
                else:
                    reply = fake._next(body)
                self._send(reply)

            def _authorized(self) -> bool:
                return self.headers.get("authorization", "").startswith("Bearer ") or bool(self.headers.get("x-api-key"))

            def do_GET(self):
                match = re.fullmatch(r"/v1/messages/batches/([^/]+)(/results)?", self.path.split("?")[0])
                batch = fake.batches.get(match.group(1)) if match else None
                if not self._authorized():
                    self._send(error_reply(401, "authentication_error"))
                elif batch is None:
                    self._send(error_reply(404, "not_found_error"))
                elif not match.group(2):
                    self._send(Reply(body=batch.as_json(fake.url)))
                elif batch.processing_status != "ended":
                    self._send(error_reply(404, "not_found_error"))
                else:
                    lines = "".join(json.dumps(entry) + "\n" for entry in batch.results).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/binary")
                    self.send_header("content-length", str(len(lines)))
                    self.end_headers()
                    self.wfile.write(lines)

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    fake._release.wait(reply.delay)  # a hanging server; released on stop()
                payload = json.dumps(reply.body).encode()
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

    def __enter__(self) -> "FakeAnthropic":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
