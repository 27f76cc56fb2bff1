from importlib import import_module

from config.management.commands._json_jobs import json_serializer_default, refuse_other_serializers

# The module name has a hyphen: it can only be imported by name.
DjangoRQWorkerPoolCommand = import_module("django_rq.management.commands.rqworker-pool").Command


class Command(DjangoRQWorkerPoolCommand):
    help = "django-rq's rqworker-pool, reading Castnotes' JSON jobs by default (config/management/commands/_json_jobs.py)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        json_serializer_default(parser)

    def handle(self, *args, **options):
        refuse_other_serializers(options)
        return super().handle(*args, **options)
