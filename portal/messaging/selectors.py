"""Reads of the message record: undelivered messages, people who cannot be reached, one's messages."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from portal.models import MessageChannel, MessageStatus, OutboundMessage

from .kinds import KINDS
from .services import stale_before


def kind_label(name: str) -> str:
    kind = KINDS.get(name)
    return str(kind.label) if kind else (name or "-")


def undelivered_q(*, now: datetime | None = None) -> Q:
    """Failed, or still waiting (queued / sending) longer than ``MESSAGE_STALE_MINUTES``."""
    limit = stale_before(now)
    return (
        Q(status=MessageStatus.FAILED)
        | Q(status=MessageStatus.QUEUED, next_attempt_at__lt=limit)
        | Q(status=MessageStatus.SENDING, last_attempt_at__lt=limit)
    )


def messages_unreachable() -> QuerySet[OutboundMessage]:
    """Failed SMS whose notice has no e-mail on its way (none given, or it failed too): the people
    the portal could not reach at all."""
    email_on_its_way = OutboundMessage.objects.filter(
        notice=OuterRef("notice"), channel=MessageChannel.EMAIL
    ).exclude(status=MessageStatus.FAILED)
    return (
        OutboundMessage.objects.filter(channel=MessageChannel.SMS, status=MessageStatus.FAILED)
        .exclude(Exists(email_on_its_way))
        .select_related("about_type")
        .order_by("-created_at", "-id")
    )


def messages_for_user(user, *, limit: int = 20) -> list[OutboundMessage]:
    """The latest messages sent to ``user``'s mobile number or e-mail address."""
    match = Q(channel=MessageChannel.SMS, recipient=user.mobile)
    if user.email:
        match |= Q(channel=MessageChannel.EMAIL, recipient=user.email)
    return list(OutboundMessage.objects.filter(match).order_by("-created_at", "-id")[:limit])


def _about_url(message: OutboundMessage) -> str | None:
    if message.about_type is None or not message.about_id:
        return None
    try:
        return reverse(
            f"admin:{message.about_type.app_label}_{message.about_type.model}_change", args=[message.about_id]
        )
    except NoReverseMatch:
        return None


def dashboard_section(request) -> dict:
    """The staff dashboard's section: who could not be reached (SMS failed, no e-mail)."""
    can_view = request.user.has_perm("portal.view_outboundmessage")
    rows = (
        [
            {
                "message": message,
                "kind": kind_label(message.kind),
                "about": message.about_repr,
                "about_url": _about_url(message),
            }
            for message in messages_unreachable()[:200]
        ]
        if can_view
        else []
    )
    return {
        "title": _("Cannot be reached: SMS failed and no e-mail"),
        "template": "admin/portal/_unreachable_section.html",
        "rows": rows,
        "can_view": can_view,
    }
