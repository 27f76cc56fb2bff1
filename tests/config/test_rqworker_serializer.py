"""`manage.py rqworker QUEUE`, exactly as django-rq documents it (no --serializer), reads
Castnotes' JSON jobs (issue 17, defect 10): before, every job failed with DeserializationError."""

import subprocess
import sys

import pytest
from django.utils import timezone

from config.queues import enqueue
from summaries.models import Delivery
from tests.factories import make_podcast, make_user
from tests.support.workers import ROOT, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def _manage(*args: str, redis_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=worker_env(redis_url), capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def queued_delivery(db, redis_queues):
    """A new-episode delivery for a user with no address: its job only has to run to cancel it."""
    from podcasts.models import Episode

    user = make_user("nomail", email="")
    episode = Episode.objects.create(podcast=make_podcast("Show"), guid="g1", title="One", pipeline_status="summarized")
    delivery = Delivery.objects.create(
        episode=episode, user=user, kind=Delivery.Kind.NEW_EPISODE, status_changed_at=timezone.now()
    )
    assert enqueue("deliveries", "summaries.tasks_deliveries.run_delivery", delivery.pk)
    return delivery


@pytest.mark.slow
@pytest.mark.parametrize("command", ["rqworker", "rqworker-pool"])
def test_a_worker_started_as_django_rq_documents_it_runs_the_json_jobs(queued_delivery, redis_queues, command):
    extra = ["--num-workers", "1"] if command == "rqworker-pool" else []

    result = _manage(command, "deliveries", "--burst", *extra, redis_url=redis_queues)

    queued_delivery.refresh_from_db()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "DeserializationError" not in result.stdout + result.stderr
    assert queued_delivery.status == Delivery.Status.CANCELLED


def test_a_worker_asked_for_pickle_refuses_with_one_clear_line(redis_queues):
    result = _manage(
        "rqworker", "deliveries", "--burst", "--serializer", "rq.serializers.DefaultSerializer", redis_url=redis_queues
    )

    assert result.returncode != 0
    assert "Castnotes enqueues every job with rq.serializers.JSONSerializer" in result.stderr
    assert "Traceback" not in result.stderr
