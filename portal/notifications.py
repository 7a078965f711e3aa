"""Messages to people: every notice goes through :func:`notices_deliver`.

A :class:`Notice` is one message to one person: an SMS to ``mobile`` and, when given, an e-mail to
``email``. :func:`notices_deliver` records each of them (:class:`portal.models.OutboundMessage`)
and a Celery task sends it after the commit, with retries (``portal.messaging``).

SMS go through the backend named by ``SMS_BACKEND`` (``portal.messaging.backends``): development
logs them (``ConsoleSmsBackend``), tests collect them in :data:`sms_outbox`
(``LocmemSmsBackend``), production sends through Alibaba Cloud or Tencent Cloud SMS
(``portal.messaging.aliyun.AliyunSmsBackend``, ``portal.messaging.tencent.TencentSmsBackend``),
which send only templates registered with them: a notice with an SMS names its ``kind``
(``portal.messaging.kinds``) and the kind's variables in ``params``. The policy (naming,
claiming, failures) is in the README, Code style, Notices.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.mail import EmailMultiAlternatives

from portal.messaging.backends import (  # noqa: F401 - the settings name these classes here
    ConsoleSmsBackend,
    LocmemSmsBackend,
    SmsMessage,
    sms_backend,
    sms_outbox,
)

logger = logging.getLogger("portal.sms")


def sms_send(*, mobile: str, message: str) -> None:
    """Send a free-text SMS at once, unrecorded (only the console and locmem backends can: use
    :func:`notices_deliver` with a message kind)."""
    sms_backend().send(mobile, message)


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


@dataclass(frozen=True)
class Notice:
    """One message to one person: an SMS to ``mobile`` and, when given, an e-mail to ``email``.

    ``kind`` names the message kind (``portal.messaging.kinds.KINDS``): the SMS is the kind's
    template filled with ``params`` (exactly the kind's variables); a notice with a ``mobile`` must
    name one (the providers send no free text). The e-mail is ``subject`` and ``body`` (by default
    the kind's label and its SMS text).
    ``event_key`` names the event (e.g. ``"trainee:12:approved"``): a notice with the same key is
    never sent twice. ``about`` is the object the message is about (a trainee, an application...),
    linked from the message's record.
    """

    mobile: str
    email: str
    subject: str
    body: str
    kind: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    event_key: str = ""
    about: Any = None

    def __post_init__(self):
        if self.mobile and not self.kind:
            raise ValueError("An SMS notice names its message kind (portal.messaging.kinds.KINDS).")
        if self.kind:
            from portal.messaging.kinds import kind_get

            kind_get(self.kind).params_check(self.params)  # a wrong kind or variable is a bug: fail here


def notices_deliver(notices: "list[Notice]") -> int:
    """Record each notice's SMS and e-mail and queue their sending; return how many failed at once.

    The one failure policy of the portal's notices: the messages are recorded in the caller's
    transaction and sent one by one by a Celery task after the commit, with retries and backoff on
    temporary errors; a failing gateway never stops the others, never raises here, and every
    outcome is on the message's record (admin → 消息). Errors and logs never carry the text (it may
    hold a code or a private link). A notice whose ``event_key`` was recorded before is skipped.
    The count is of messages refused at once (a recipient that is no mobile number / address).
    """
    from portal.messaging.services import notices_record

    return notices_record(notices=list(notices))


def mask_mobile(mobile: str) -> str:
    """``138****5678``: a mobile number as logs and lists show it."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else "****"
