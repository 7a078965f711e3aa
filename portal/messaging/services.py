"""Recording, sending and resending the portal's messages (:class:`portal.models.OutboundMessage`).

The way a message goes:

1. :func:`notices_record` (called by ``portal.notifications.notices_deliver``) writes one row per
   SMS and per e-mail of each notice in the caller's transaction, status *queued*. Its ``event``
   (the notice's ``event_key`` and the channel) is unique: a notice given twice is recorded once.
   After the commit one Celery task per row is queued (``portal.tasks.message_send``).
2. :func:`message_send` (run by the task) claims the row (*queued* → *sending* in one conditional
   UPDATE, so two workers never both send it), sends it through the SMS backend or the mail server
   and records *sent* with the provider's message id, or *failed* with the error. A temporary error
   (throttling, network, the provider's server error) puts the row back to *queued* and the task
   retries with exponential backoff; when the retries are spent the row is *failed*.
3. Staff resend failed or stuck messages (:func:`message_resend`, audited). A row whose task was
   lost (broker down at commit) is queued again by :func:`messages_requeue_stale` (every few
   minutes); a row left *sending* by a worker that died mid-send is not (the provider may have sent
   it): it shows as undelivered in admin for staff to decide.

Codes and private links live only in the encrypted ``params_json`` / ``body`` columns: errors and
logs carry the provider's error code, the masked recipient and the message id, never the text.
"""

from __future__ import annotations

import json
import logging
import random
import re
import smtplib
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import MessageChannel, MessageStatus, OutboundMessage, User
from portal.services import audit_record
from portal.validators import mobile_normalize

from .backends import PermanentSmsError, SmsError, TemporarySmsError, sms_backend
from .kinds import KINDS, kind_get

if TYPE_CHECKING:
    from portal.notifications import Notice

logger = logging.getLogger("portal.messaging")

RESEND_ACTION = "message.resent"
PURGE_ACTION = "messages.purged"


def _conf(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _mobile(value: str) -> str | None:
    number = mobile_normalize(value)
    return number if re.fullmatch(r"1\d{10}", number) else None


def _about(notice: Notice) -> dict:
    about = notice.about
    if about is None or getattr(about, "pk", None) is None:
        return {}
    return {
        "about_type": ContentType.objects.get_for_model(about),
        "about_id": str(about.pk),
        "about_repr": str(about)[:200],
    }


def _rows(notice: Notice) -> list[OutboundMessage]:
    """The rows of one notice: an SMS unless its kind goes by e-mail only, an e-mail if given.
    (:class:`portal.notifications.Notice` refuses an SMS without a kind.)"""
    kind = kind_get(notice.kind) if notice.kind else None
    params = kind.params_check(notice.params) if kind is not None else {}
    base = notice.event_key or f"adhoc:{uuid.uuid4().hex}"
    common = {"notice": base[:200], "kind": kind.name if kind else "", **_about(notice)}
    rows = []
    if notice.mobile and kind is not None and kind.sms:
        number = _mobile(notice.mobile)
        rows.append(
            OutboundMessage(
                event=f"{base}:sms"[:200],
                channel=MessageChannel.SMS,
                recipient=(number or notice.mobile)[:254],
                params_json=json.dumps(params, ensure_ascii=False),
                template_code=kind.template_code(),
                status=MessageStatus.QUEUED if number else MessageStatus.FAILED,
                error="" if number else "Not a mainland mobile number.",
                **common,
            )
        )
    if notice.email:
        valid = "@" in notice.email and " " not in notice.email.strip()
        rows.append(
            OutboundMessage(
                event=f"{base}:email"[:200],
                channel=MessageChannel.EMAIL,
                recipient=notice.email.strip()[:254],
                subject=str(notice.subject or (kind.label if kind else ""))[:200],
                body=notice.body or (kind.render(params) if kind and kind.sms else ""),
                params_json=json.dumps(params, ensure_ascii=False) if kind else "",
                status=MessageStatus.QUEUED if valid else MessageStatus.FAILED,
                error="" if valid else "Not an e-mail address.",
                **common,
            )
        )
    return rows


def notices_record(*, notices: list[Notice]) -> int:
    """Record the messages of ``notices`` (in the caller's transaction) and queue their sending
    after the commit. A message whose event is recorded already is skipped (never sent twice).
    Returns how many messages failed at once (a recipient that is no mobile number / address)."""
    rows = [row for notice in notices for row in _rows(notice)]
    if not rows:
        return 0
    events = [row.event for row in rows]
    known = set(OutboundMessage.objects.filter(event__in=events).values_list("event", flat=True))
    fresh = {row.event: row for row in rows if row.event not in known}  # one per event
    if not fresh:
        return 0
    OutboundMessage.objects.bulk_create(list(fresh.values()), ignore_conflicts=True)
    recorded = OutboundMessage.objects.filter(event__in=list(fresh), attempts=0)
    queued = list(recorded.filter(status=MessageStatus.QUEUED).values_list("pk", flat=True))
    for pk in queued:
        transaction.on_commit(lambda pk=pk: _queue(pk), robust=True)
    return sum(1 for row in fresh.values() if row.status == MessageStatus.FAILED)


def _queue(message_id: int) -> None:
    from portal.tasks import message_send

    message_send.delay(message_id=message_id)


# ---------------------------------------------------------------------------------------------
# Sending (the Celery task portal.tasks.message_send)


def retry_countdown(retries: int) -> int:
    """Seconds before the next try: exponential (``MESSAGE_RETRY_BACKOFF_SECONDS`` doubled per
    retry, at most ``MESSAGE_RETRY_BACKOFF_MAX_SECONDS``), half of it random (jitter)."""
    base = min(
        _conf("MESSAGE_RETRY_BACKOFF_MAX_SECONDS", 900),
        _conf("MESSAGE_RETRY_BACKOFF_SECONDS", 30) * 2 ** max(retries, 0),
    )
    return base // 2 + random.randint(0, base - base // 2)  # noqa: S311 - jitter, not a secret


def _redacted(text: str, message: OutboundMessage) -> str:
    """An error text without any variable's value (a provider may echo what it refused)."""
    for value in message.params.values():
        value = str(value)
        if len(value) >= 4:
            text = text.replace(value, "[…]")
    return text[:1000]


def _email_error(exc: Exception) -> SmsError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return PermanentSmsError("Mail server refused the recipient.", code="RecipientRefused")
    if isinstance(exc, smtplib.SMTPResponseException):
        error = TemporarySmsError if 400 <= exc.smtp_code < 500 else PermanentSmsError
        return error(f"Mail server answered {exc.smtp_code}.", code=str(exc.smtp_code))
    if isinstance(exc, smtplib.SMTPException | OSError):
        return TemporarySmsError(f"Mail server unreachable: {type(exc).__name__}.", code=type(exc).__name__)
    return PermanentSmsError(f"E-mail not sent: {type(exc).__name__}.", code=type(exc).__name__)


def _transmit(message: OutboundMessage) -> tuple[str, str]:
    """Send ``message``; return ``(backend name, provider message id)`` or raise an SmsError."""
    if message.channel == MessageChannel.EMAIL:
        from portal.notifications import email_send

        try:
            email_send(to=[message.recipient], subject=message.subject, body=message.body)
        except Exception as exc:  # noqa: BLE001 - classified, logged without the text
            raise _email_error(exc) from None
        return "email", ""
    try:
        backend = sms_backend()
    except ImportError as exc:
        raise PermanentSmsError(f"SMS backend not installed: {exc.name}.", code="NotInstalled") from None
    if not message.kind:
        return backend.name, backend.send(message.recipient, message.body) or ""
    kind = kind_get(message.kind)
    provider_id = backend.send_template(
        mobile=message.recipient, kind=kind, params=message.params, reference=str(message.pk)
    )
    return backend.name, provider_id or ""


def message_send(*, message_id: int, retries: int = 0, max_retries: int | None = None) -> int | None:
    """Send one queued message (idempotent: a message not *queued* is left alone).

    Returns the countdown in seconds before the task should try again (a temporary error with
    retries left), else ``None``.
    """
    max_retries = _conf("MESSAGE_MAX_RETRIES", 6) if max_retries is None else max_retries
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, attempts=F("attempts") + 1, last_attempt_at=now
    )
    if not claimed:
        return None
    message = OutboundMessage.objects.get(pk=message_id)
    sending = OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING)
    try:
        backend, provider_id = _transmit(message)
    except SmsError as exc:
        final = isinstance(exc, PermanentSmsError) or retries >= max_retries
        error = _redacted(str(exc), message)
        logger.warning(
            "%s %s to %s not sent (attempt %s): %s",
            message.channel,
            message.pk,
            message.recipient_masked,
            message.attempts,
            exc.code or type(exc).__name__,
        )
        if final:
            sending.update(status=MessageStatus.FAILED, error=error)
            return None
        countdown = retry_countdown(retries)
        sending.update(
            status=MessageStatus.QUEUED, error=error, next_attempt_at=now + timedelta(seconds=countdown)
        )
        return countdown
    except Exception as exc:  # a bug must not leave the row "sending" for ever
        logger.exception(
            "%s %s to %s: unexpected error", message.channel, message.pk, message.recipient_masked
        )
        sending.update(status=MessageStatus.FAILED, error=f"Unexpected error: {type(exc).__name__}.")
        return None
    sending.update(
        status=MessageStatus.SENT,
        sent_at=timezone.now(),
        backend=backend,
        provider_message_id=provider_id[:100],
        error="",
    )
    return None


# ---------------------------------------------------------------------------------------------
# Staff: resending; the housekeeping jobs


def stale_before(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(minutes=_conf("MESSAGE_STALE_MINUTES", 15))


def message_resendable(message: OutboundMessage, *, now: datetime | None = None) -> bool:
    """Failed, or still waiting (queued / sending) for longer than ``MESSAGE_STALE_MINUTES``."""
    limit = stale_before(now)
    if message.status == MessageStatus.FAILED:
        return True
    if message.status == MessageStatus.QUEUED:
        return message.next_attempt_at < limit
    if message.status == MessageStatus.SENDING:
        return (message.last_attempt_at or message.created_at) < limit
    return False


def message_resend(*, message: OutboundMessage, actor: User, ip: str | None = None) -> OutboundMessage:
    """Queue an undelivered message again (the same row, so the event still goes out once)."""
    if not actor.has_perm("portal.resend_outboundmessage"):
        raise PermissionDenied(_("You may not resend messages."))
    with transaction.atomic():
        locked = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if not message_resendable(locked):
            raise ValidationError(
                _(
                    "Only a failed message, or one waiting for more than %(minutes)s minutes, can be sent again."
                )
                % {"minutes": _conf("MESSAGE_STALE_MINUTES", 15)},
                code="not_resendable",
            )
        old = {"status": locked.status, "attempts": locked.attempts, "error": locked.error[:200]}
        locked.status = MessageStatus.QUEUED
        locked.next_attempt_at = timezone.now()
        locked.error = ""
        if locked.kind and locked.channel == MessageChannel.SMS:
            locked.template_code = KINDS[locked.kind].template_code() if locked.kind in KINDS else ""
        locked.save(update_fields=["status", "next_attempt_at", "error", "template_code"])
        audit_record(
            actor=actor, action=RESEND_ACTION, target=locked, old=old, new={"status": locked.status}, ip=ip
        )
        transaction.on_commit(lambda: _queue(locked.pk), robust=True)
    return locked


def messages_requeue_stale(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Queue the task again for messages still *queued* well after their time (the task was lost,
    e.g. the broker was down at commit). Sending claims each row once, so a duplicate task is
    harmless."""
    now = now or timezone.now()
    ids = list(
        OutboundMessage.objects.filter(status=MessageStatus.QUEUED, next_attempt_at__lt=stale_before(now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    if ids:
        OutboundMessage.objects.filter(pk__in=ids, status=MessageStatus.QUEUED).update(next_attempt_at=now)
        for pk in ids:
            _queue(pk)
    return len(ids)


def messages_purge(*, now: datetime | None = None) -> int:
    """Delete messages older than ``MESSAGE_RETENTION_DAYS`` (recipients, names, codes); audited."""
    now = now or timezone.now()
    before = now - timedelta(days=_conf("MESSAGE_RETENTION_DAYS", 180))
    with transaction.atomic():
        count, _deleted = OutboundMessage.objects.filter(created_at__lt=before).delete()
        if count:
            audit_record(actor=None, action=PURGE_ACTION, new={"count": count, "before": before.isoformat()})
    return count
