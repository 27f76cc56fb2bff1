from django.core.management.commands.flush import Command as DjangoFlushCommand

from config.dbguards import flushing


class Command(DjangoFlushCommand):
    """Django's flush, with the SQLite append-only guard of the editorial log lifted while
    it runs (PostgreSQL's TRUNCATE never fires it): see config/dbguards.py."""

    def handle(self, **options):
        token = flushing.set(True)
        try:
            return super().handle(**options)
        finally:
            flushing.reset(token)
