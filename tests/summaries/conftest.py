import contextlib
import socket

import pytest

from podcasts.models import Episode
from summaries.llm.openai import accepted_modes_forget
from tests.factories import make_podcast, make_transcribed_episode
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.support.llama_server import MODEL_NAME, LlamaServerMissing, llama_server
from tests.support.recording_proxy import RecordingProxy

# Small on purpose: a 5-minute transcript must go in parts, as a long episode would on a real server.
LLAMA_CONTEXT_TOKENS = 2048
LLAMA_MAX_OUTPUT_TOKENS = 320


@pytest.fixture
def fake_anthropic(settings):
    """The real SDK pointed at a local fake Messages API, with tiny timeouts and waits."""
    server = FakeAnthropic().start()
    settings.ANTHROPIC_API_KEY = "sk-test-fake"
    settings.ANTHROPIC_BASE_URL = server.url
    settings.SUMMARY_PROVIDER = "anthropic"
    settings.ANTHROPIC_MODEL = "claude-haiku-4-5"
    settings.ANTHROPIC_TIMEOUT = 1.0
    settings.ANTHROPIC_MAX_RETRIES = 2
    settings.ANTHROPIC_RETRY_BACKOFF = 0.01
    settings.ANTHROPIC_RETRY_AFTER_MAX = 0.2
    settings.SUMMARY_DEADLINE_SECONDS = 30.0
    yield server
    server.stop()


def openai_settings(settings, *, base_url: str, model: str, context_tokens: int, max_output_tokens: int) -> None:
    """SUMMARY_PROVIDER=openai against `base_url`; a local model costs nothing."""
    settings.SUMMARY_PROVIDER = "openai"
    settings.OPENAI_BASE_URL = base_url
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_MODEL = model
    settings.OPENAI_CONTEXT_TOKENS = context_tokens
    settings.OPENAI_MAX_OUTPUT_TOKENS = max_output_tokens
    settings.LLM_PRICES_USD_PER_MTOK = {**settings.LLM_PRICES_USD_PER_MTOK, model: {"input": 0.0, "output": 0.0}}


@pytest.fixture
def fake_openai(settings):
    """The real openai SDK pointed at a local fake server, with tiny timeouts and waits; what a
    server accepted is forgotten before and after, as in a fresh process."""
    server = FakeOpenAI().start()
    openai_settings(settings, base_url=server.url, model="fake-local-model", context_tokens=32768, max_output_tokens=2048)
    settings.OPENAI_TIMEOUT = 1.0
    settings.OPENAI_MAX_RETRIES = 2
    settings.OPENAI_RETRY_BACKOFF = 0.01
    settings.OPENAI_RETRY_AFTER_MAX = 0.2
    settings.SUMMARY_DEADLINE_SECONDS = 30.0
    accepted_modes_forget()
    yield server
    server.stop()
    accepted_modes_forget()


@pytest.fixture(scope="session")
def llama_server_url():
    """The real llama-cpp-python server (Gemma 3 270M) for the whole session. Without it the
    tests that need it fail: CI builds it (.ci/run), so a missing server is a broken setup."""
    stack = contextlib.ExitStack()
    try:
        url = stack.enter_context(llama_server(n_ctx=LLAMA_CONTEXT_TOKENS))
    except LlamaServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    with stack:
        yield url


@pytest.fixture
def llama_openai(settings, llama_server_url):
    """SUMMARY_PROVIDER=openai against the real server through a recording proxy (what reached the model)."""
    proxy = RecordingProxy(llama_server_url).start()
    openai_settings(
        settings,
        base_url=proxy.url,
        model=MODEL_NAME,
        context_tokens=LLAMA_CONTEXT_TOKENS,
        max_output_tokens=LLAMA_MAX_OUTPUT_TOKENS,
    )
    settings.OPENAI_TIMEOUT = 300.0
    settings.OPENAI_MAX_RETRIES = 1
    settings.SUMMARY_DEADLINE_SECONDS = 900.0
    accepted_modes_forget()
    yield proxy
    proxy.stop()
    accepted_modes_forget()


@pytest.fixture
def refused_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def extractive(settings):
    settings.SUMMARY_PROVIDER = "extractive"
    settings.ANTHROPIC_API_KEY = ""


@pytest.fixture
def episode(db) -> Episode:
    return make_transcribed_episode()


@pytest.fixture
def podcast(db):
    """A podcast for the pipeline-page tests, as tests/podcasts' pipeline tests have it."""
    return make_podcast("Field Notes", feed_url="https://example.com/feed.xml", language="en")
