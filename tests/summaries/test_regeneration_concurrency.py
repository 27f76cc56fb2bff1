"""Real threads, real transactions on PostgreSQL: a burst of POSTs makes one Delivery."""

import threading
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client

from podcasts.models import Profile
from summaries.models import Delivery
from tests.factories import make_podcast, make_summarized_episode, make_user

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _burst(cookies, path: str, n: int, headers: dict) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def post(i: int) -> None:
        client = Client(enforce_csrf_checks=True)
        client.cookies = cookies
        token = cookies["csrftoken"].value
        try:
            barrier.wait()
            response = client.post(path, {"csrfmiddlewaretoken": token}, **headers)
            results[i] = (response.status_code, response.json() if headers else None)
        except Exception as exc:  # recorded: the assertion below reports it
            results[i] = ("error", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_fifty_concurrent_posts_from_one_user_make_exactly_one_delivery(redis_queues):
    import django_rq

    user = make_user(plan=Profile.Plan.PREMIUM)
    episode = make_summarized_episode(make_podcast(), summary_version="v1")
    seed = Client(enforce_csrf_checks=True)
    seed.force_login(user)
    seed.get("/accounts/login/")

    results = _burst(seed.cookies, f"/episodes/{episode.pk}/regenerate/", 50, {"HTTP_ACCEPT": "application/json"})

    assert all(status == HTTPStatus.ACCEPTED for status, _ in results), results
    delivery = Delivery.objects.get()
    assert {body["delivery_id"] for _, body in results} == {delivery.pk}
    assert delivery.status == Delivery.Status.PENDING
    assert django_rq.get_queue("deliveries").count == 1


def test_html_burst_also_makes_one_delivery_and_all_redirect(redis_queues):
    user = make_user(plan=Profile.Plan.PREMIUM)
    episode = make_summarized_episode(make_podcast(), summary_version="v1")
    seed = Client(enforce_csrf_checks=True)
    seed.force_login(user)
    seed.get("/accounts/login/")

    results = _burst(seed.cookies, f"/episodes/{episode.pk}/regenerate/", 20, {})

    assert [status for status, _ in results] == [HTTPStatus.SEE_OTHER] * 20
    assert Delivery.objects.count() == 1
