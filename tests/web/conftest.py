import pytest


@pytest.fixture
def site(settings, redis_url, live_server):
    """The live server with jobs going to a Redis of the test's own, so a worker runs them when the test says."""
    settings.SUMMARY_PROVIDER = "extractive"
    settings.ANTHROPIC_API_KEY = ""
    settings.SUMMARY_PROMPT_VERSION = "v2"
    settings.REDIS_URL = redis_url
    settings.RQ_QUEUES = {name: {**conf, "URL": redis_url} for name, conf in settings.RQ_QUEUES.items()}
    return live_server
