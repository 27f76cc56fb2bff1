"""The whisper worker: a non-forking RQ worker that loads the model once at start.

CTranslate2 is not fork-safe (a model loaded before fork() can deadlock the
child), and reloading per forked job wastes seconds, so transcription jobs run
in this process (rq.SimpleWorker) with the model cached by
podcasts.transcription.get_model. Run it with:

    manage.py rqworker transcription --worker-class podcasts.worker.WhisperWorker
"""

import logging

from django.db import close_old_connections
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from podcasts.transcription import get_model

logger = logging.getLogger("castnotes.worker")


class WhisperWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        # Jobs carry ids only and are enqueued as JSON (settings.RQ_QUEUES).
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)

    def work(self, *args, **kwargs):
        get_model()  # before the first job, never in a forked child
        logger.info("whisper_worker_ready", extra={"event": "whisper_worker_ready", "worker": self.name})
        return super().work(*args, **kwargs)

    def execute_job(self, job, queue):
        # A long-lived process: drop database connections the server may have closed.
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()
