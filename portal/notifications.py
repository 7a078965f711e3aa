"""Messages to people: e-mail through Django, SMS through a pluggable backend.

``SMS_BACKEND`` names a class with ``send(mobile, message)``. Development logs the message
(``ConsoleSmsBackend``); tests collect them in ``portal.notifications.sms_outbox``
(``LocmemSmsBackend``). A real SMS gateway is one more class with the same method.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.module_loading import import_string

logger = logging.getLogger("portal.sms")


@dataclass(frozen=True)
class SmsMessage:
    mobile: str
    message: str


sms_outbox: list[SmsMessage] = []


class ConsoleSmsBackend:
    def send(self, mobile: str, message: str) -> None:
        logger.info("SMS to %s: %s", mobile, message)


class LocmemSmsBackend:
    def send(self, mobile: str, message: str) -> None:
        sms_outbox.append(SmsMessage(mobile=mobile, message=message))


def sms_send(*, mobile: str, message: str) -> None:
    backend = import_string(settings.SMS_BACKEND)()
    backend.send(mobile, message)


def email_send(
    *, to: list[str], subject: str, body: str, attachments: list[tuple[str, bytes, str]] = ()
) -> None:
    """Send a plain-text e-mail (attachments as ``(filename, content, mimetype)``)."""
    recipients = [address for address in to if address]
    if not recipients:
        return
    message = EmailMultiAlternatives(subject=subject, body=body, to=recipients)
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()
