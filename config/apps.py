from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Project-wide pieces that are no app's own: system checks (config/checks.py)."""

    name = "config"
    verbose_name = "Castnotes configuration"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the checks)
