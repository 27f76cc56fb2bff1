"""Shared by the rqworker overrides: Castnotes' jobs are JSON, never pickle.

django-rq's `rqworker` and `rqworker-pool` default `--serializer` to RQ's pickle
serializer whatever RQ_QUEUES says, so a worker started as django-rq documents it
(`manage.py rqworker default`) failed every job with DeserializationError. These
commands (found before django-rq's: `config` precedes `django_rq` in INSTALLED_APPS)
default to RQ_SERIALIZER and refuse any other serializer with one clear line.
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.module_loading import import_string


def json_serializer_default(parser) -> None:
    # Parser-level defaults win over the argument's own default (argparse).
    parser.set_defaults(serializer=settings.RQ_SERIALIZER)


def refuse_other_serializers(options: dict) -> None:
    wanted = settings.RQ_SERIALIZER
    given = options.get("serializer") or wanted
    try:
        same = import_string(given) is import_string(wanted)
    except ImportError:
        same = False
    if not same:
        raise CommandError(
            f"--serializer {given}: Castnotes enqueues every job with {wanted}; "
            "a worker with another serializer cannot read them. Leave --serializer out."
        )
