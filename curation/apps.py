from django.apps import AppConfig
from django.db.backends.signals import connection_created

from config.dbguards import flushing


def _register_append_only_function(sender, connection, **kwargs) -> None:
    """SQLite: the function the editorial log's triggers ask (migration 0005)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "castnotes_append_only_enforced", 0, lambda: 0 if flushing.get() else 1, deterministic=False
        )


class CurationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "curation"

    def ready(self) -> None:
        connection_created.connect(_register_append_only_function, dispatch_uid="castnotes_append_only_function")
