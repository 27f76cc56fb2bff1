import json
from http import HTTPStatus

import pytest


@pytest.mark.django_db
def test_healthz_reports_ok_when_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.OK
    assert json.loads(response.content) == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.django_db
def test_healthz_checks_redis_when_configured(client, settings, redis_url):
    settings.REDIS_URL = redis_url

    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.OK
    assert json.loads(response.content)["checks"]["redis"] == "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = json.loads(response.content)
    assert body["status"] == "error"
    assert body["checks"]["redis"].startswith("error")


def test_healthz_is_503_when_database_is_unreachable(client, settings):
    """No django_db mark: any query raises, exactly like a database that is down."""
    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert json.loads(response.content)["checks"]["database"].startswith("error")


@pytest.mark.django_db
def test_healthz_reuses_one_redis_connection(client, settings, redis_url):
    import redis

    settings.REDIS_URL = redis_url
    admin = redis.Redis.from_url(redis_url)
    before = admin.info("stats")["total_connections_received"]

    for _ in range(5):
        assert client.get("/healthz").status_code == HTTPStatus.OK

    assert admin.info("stats")["total_connections_received"] - before <= 1
