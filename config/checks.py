"""Castnotes' own system checks; the deploy ones run with `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

CONSOLE_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "config.mail.UnconfiguredEmailBackend",
}


@register(Tags.security, deploy=True)
def email_is_sent(app_configs, **kwargs):
    """Password-reset links and delivery emails must go to a mail server, not to stdout or nowhere."""
    if settings.EMAIL_BACKEND in CONSOLE_BACKENDS:
        return [
            Warning(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: emails are printed or dropped, never sent.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@mail.example.org:587.",
                id="castnotes.W001",
            )
        ]
    return []
