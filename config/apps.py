from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate
from django.urls import register_converter

from config.converters import IdConverter


class ConfigConfig(AppConfig):
    """Project-wide pieces that are no app's own: system checks (config/checks.py), the
    `id` URL converter (config/converters.py, registered before any URLconf is loaded)
    and the database cache table."""

    name = "config"
    verbose_name = "Castnotes configuration"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the checks once the app registry is ready)

        register_converter(IdConverter, "id")
        post_migrate.connect(create_cache_tables, dispatch_uid="castnotes_create_cache_tables")


def create_cache_tables(sender, using="default", **kwargs) -> None:
    """`migrate` also creates the database cache's table (the rate-limit counters without
    Redis), so no deploy or demo step can forget `createcachetable`. Idempotent."""
    if sender.label != "sessions":  # post_migrate is sent once per app: act once per migrate
        return
    call_command("createcachetable", database=using, verbosity=0)
