"""Access-code links, and the paid trainees still without a study account."""

import hashlib
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from registration.models import Trainee, TraineeStatus

from ..conf import conf
from ..models import AccessCode


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_code_by_link(*, token: str, now: datetime | None = None) -> AccessCode | None:
    """The open access code a link token belongs to, or ``None`` if unknown, used or expired."""
    now = now or timezone.now()
    return (
        AccessCode.objects.select_related("user")
        .filter(
            link_hash=token_hash(token), used_at__isnull=True, link_expires_at__gt=now, user__is_active=True
        )
        .first()
    )


def trainees_awaiting_account() -> QuerySet[Trainee]:
    """Approved, paid trainees without a study account (the sweep opens these)."""
    return Trainee.objects.filter(
        status=TraineeStatus.APPROVED, paid_at__isnull=False, enrollment__isnull=True
    ).order_by("paid_at", "pk")


def trainees_account_overdue(*, days: float, now: datetime | None = None) -> QuerySet[Trainee]:
    """Paid more than ``days`` ago and still without a study account (whatever their status)."""
    now = now or timezone.now()
    return (
        Trainee.objects.filter(
            paid_at__isnull=False, paid_at__lte=now - timedelta(days=days), enrollment__isnull=True
        )
        .select_related("application", "programme")
        .order_by("paid_at", "pk")
    )


def trainee_account_blocker(trainee: Trainee) -> str:
    """Why a paid trainee may have no account yet (for staff)."""
    if trainee.status != TraineeStatus.APPROVED:
        return _("Registration not approved (%(status)s)") % {"status": trainee.get_status_display()}
    if not trainee.attachment2_complete:
        return _("Attachment 2 or documents incomplete")
    return _("Waiting for the next sweep; check the task worker")


def account_promise_days() -> int:
    return conf("LEARNING_ACCOUNT_PROMISE_DAYS")
