"""config.queues: jobs named by import path; periodic jobs not piled up behind a slow worker."""

import django_rq
import pytest
from rq import SimpleWorker

from config.queues import enqueue, enqueue_periodic

POLL = "summaries.tasks_deliveries.poll_regeneration_batches"


def test_a_job_is_named_by_its_import_path():
    with pytest.raises(TypeError, match="import path"):
        enqueue("default", print)


@pytest.mark.django_db(transaction=True)
def test_without_redis_the_job_path_runs_here(settings):
    settings.REDIS_URL = ""

    assert enqueue_periodic("deliveries", POLL)
    assert enqueue("deliveries", POLL)


@pytest.mark.django_db(transaction=True)
def test_a_periodic_job_is_not_enqueued_again_while_the_last_one_waits(redis_queues):
    queue = django_rq.get_queue("deliveries")

    assert enqueue_periodic("deliveries", POLL)
    assert enqueue_periodic("deliveries", POLL)
    assert queue.count == 1

    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    assert enqueue_periodic("deliveries", POLL)
    assert queue.count == 1
    assert queue.job_ids == ["periodic-" + POLL.replace(".", "-")]
