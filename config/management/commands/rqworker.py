from django_rq.management.commands.rqworker import Command as DjangoRQWorkerCommand

from config.management.commands._json_jobs import json_serializer_default, refuse_other_serializers


class Command(DjangoRQWorkerCommand):
    help = "django-rq's rqworker, reading Castnotes' JSON jobs by default (config/management/commands/_json_jobs.py)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        json_serializer_default(parser)

    def handle(self, *args, **options):
        refuse_other_serializers(options)
        return super().handle(*args, **options)
