"""The email backend used when EMAIL_URL is not set outside DJANGO_DEBUG.

Django's console backend would print every message (addresses, live password-reset
links) to the web process's stdout, next to the JSON logs. This one sends nothing and
logs one JSON event per message with no address, subject or body;
`check --deploy` warns about it (config/checks.py).
"""

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("castnotes.mail")


class UnconfiguredEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        for _ in email_messages:
            logger.warning(
                "email_not_sent",
                extra={"event": "email_not_sent", "reason": "EMAIL_URL is not set (see docs/operations.md)"},
            )
        return 0
