from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Project-wide pieces that are no app's own: system checks (config/checks.py) and the
`id` URL converter (config/converters.py), registered before any URLconf is loaded."""

    name = "config"
    verbose_name = "Castnotes configuration"

    def ready(self) -> None:
        from django.urls import register_converter

        from config import checks  # noqa: F401  (registers the checks)
        from config.converters import IdConverter

        register_converter(IdConverter, "id")
