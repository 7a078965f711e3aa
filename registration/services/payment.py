"""Payment hooks: the payments app marks a trainee's fee paid (or unpaid again after a refund);
``registration.signals.trainee_paid`` tells the learning app on commit.
"""

from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from ..models import Trainee, TraineeStatus
from ..signals import trainee_paid


def _send_trainee_paid(trainee_id: int) -> None:
    trainee_paid.send(sender=Trainee, trainee_id=trainee_id)


def trainee_mark_paid(
    *, trainee: Trainee, paid_at: datetime | None = None, actor: User | None = None, ip: str | None = None
) -> Trainee:
    """Record that the trainee's fee is fully paid (called by the payments app). Idempotent.

    On commit, ``registration.signals.trainee_paid`` is sent so the study account can be opened.
    """
    with transaction.atomic():
        trainee = Trainee.objects.select_for_update().get(pk=trainee.pk)
        if trainee.paid_at is not None:
            return trainee
        if trainee.status != TraineeStatus.APPROVED:
            raise ValidationError(_("Only an approved registration can be marked as paid."))
        trainee.paid_at = paid_at or timezone.now()
        trainee.save(update_fields=["paid_at", "updated_at"])
        audit_record(
            actor=actor,
            action="trainee.paid",
            target=trainee,
            old={"paid_at": None},
            new={"paid_at": trainee.paid_at.isoformat()},
            ip=ip,
        )
        transaction.on_commit(partial(_send_trainee_paid, trainee.pk))
    return trainee


def trainee_mark_unpaid(
    *, trainee: Trainee, reason: str, actor: User | None = None, ip: str | None = None
) -> Trainee:
    """Undo ``trainee_mark_paid`` (a refund before the account opened; the payments app checks that)."""
    with transaction.atomic():
        trainee = Trainee.objects.select_for_update().get(pk=trainee.pk)
        if trainee.paid_at is None:
            return trainee
        old = trainee.paid_at.isoformat()
        trainee.paid_at = None
        trainee.save(update_fields=["paid_at", "updated_at"])
        audit_record(
            actor=actor,
            action="trainee.unpaid",
            target=trainee,
            old={"paid_at": old},
            new={"paid_at": None},
            reason=reason,
            ip=ip,
        )
    return trainee
