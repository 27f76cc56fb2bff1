"""Email backends that stand in for a misbehaving mail layer in tests."""

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class ExplodingBackend(LocmemBackend):
    """Delivers like locmem, but crashes (an unexpected error, not an SMTP one) on any
    message to an address containing "explode": one bad row among good ones."""

    def send_messages(self, messages):
        for message in messages:
            if any("explode" in address for address in message.recipients()):
                raise RuntimeError("mail layer crashed")
        return super().send_messages(messages)
