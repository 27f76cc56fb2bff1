from django.core.management.base import BaseCommand

from podcasts.services import opml_export


class Command(BaseCommand):
    help = "Print every active feed as OPML 2.0."

    def handle(self, *args, **options):
        self.stdout.write(opml_export(), ending="")
