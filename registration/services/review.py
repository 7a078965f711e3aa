"""Review: one service per transition of a trainee's registration (approve, return for
correction, reject, withdraw). Each locks the row, checks the transition, saves, audits and queues
the notice to the unit's contact and the trainee on commit (:mod:`registration.services.notices`).

A roster row flagged as a duplicate of a live registration
(:func:`registration.services.applications.application_submit`) can only be rejected (or withdrawn
by its unit): approving it, or returning it for correction, is refused.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from ..models import DuplicateField, Trainee, TraineeStatus
from .fields import text_clean

_TRANSITIONS = {
    TraineeStatus.APPROVED: {TraineeStatus.SUBMITTED},
    TraineeStatus.RETURNED: {TraineeStatus.SUBMITTED},
    TraineeStatus.REJECTED: {TraineeStatus.SUBMITTED, TraineeStatus.RETURNED},
    TraineeStatus.WITHDRAWN: {TraineeStatus.SUBMITTED, TraineeStatus.RETURNED},
}


def _refused(target: str, trainee: Trainee) -> ValidationError:
    params = {"name": trainee.name, "status": trainee.get_status_display()}
    messages = {
        TraineeStatus.APPROVED: _(
            "Only a registration awaiting review can be approved; %(name)s's is “%(status)s”."
        ),
        TraineeStatus.RETURNED: _(
            "Only a registration awaiting review can be returned for correction; %(name)s's is “%(status)s”."
        ),
        TraineeStatus.REJECTED: _(
            "Only a registration awaiting review or returned for correction can be rejected; "
            "%(name)s's is “%(status)s”."
        ),
        TraineeStatus.WITHDRAWN: _(
            "Only a registration that is not yet approved can be withdrawn; %(name)s's is “%(status)s”."
        ),
    }
    return ValidationError(messages[target] % params, code="transition_refused")


def _transition(
    *,
    trainee: Trainee,
    to: str,
    actor: User | None,
    reason: str = "",
    ip: str | None,
    action: str,
    check=None,
) -> Trainee:
    from ..tasks import trainee_status_notify  # tasks import services

    reason = text_clean(reason)
    with transaction.atomic():
        locked = Trainee.objects.select_for_update().get(pk=trainee.pk)
        if locked.status not in _TRANSITIONS[to]:
            raise _refused(to, locked)
        if check is not None:
            check(locked)
        old_status = locked.status
        locked.status = to
        locked.status_reason = reason
        locked.status_changed_at = timezone.now()
        update_fields = ["status", "status_reason", "status_changed_at", "updated_at"]
        if actor is not None and getattr(actor, "is_staff", False):
            locked.reviewed_by = actor
            update_fields.append("reviewed_by")
        locked.save(update_fields=update_fields)
        entry = audit_record(
            actor=actor,
            action=action,
            target=locked,
            old={"status": old_status},
            new={"status": to},
            reason=reason,
            ip=ip,
        )
        trainee_status_notify.delay_on_commit(trainee_id=locked.pk, audit_entry_id=entry.pk)
    return locked


def _reason_required(reason: str) -> None:
    if not text_clean(reason):
        raise ValidationError(
            _("Give the reason, so that the unit and the trainee know what to do."), code="reason_required"
        )


def _not_duplicate(trainee: Trainee) -> None:
    if not trainee.is_duplicate:
        return
    original = trainee.duplicate_of
    raise ValidationError(
        _(
            "%(name)s's registration is a duplicate of %(original)s (%(field)s, live when it was "
            "submitted): it cannot be approved or returned for correction. Reject it with the reason."
        )
        % {
            "name": trainee.name,
            "original": str(original) if original is not None else _("(deleted)"),
            "field": DuplicateField(trainee.duplicate_field).label
            if trainee.duplicate_field in DuplicateField.values
            else "",
        },
        code="duplicate",
    )


def _approvable(trainee: Trainee) -> None:
    _not_duplicate(trainee)
    _attachment2_required(trainee)


def _attachment2_required(trainee: Trainee) -> None:
    if not trainee.attachment2_complete:
        raise ValidationError(
            _(
                "%(name)s has not completed the information form (attachment 2: photo, ID card copies, "
                "declaration…); it cannot be approved yet."
            )
            % {"name": trainee.name},
            code="attachment2_incomplete",
        )


def trainee_approve(*, trainee: Trainee, reviewer: User, ip: str | None = None) -> Trainee:
    """Approve a registration awaiting review whose attachment 2 is complete."""
    return _transition(
        trainee=trainee,
        to=TraineeStatus.APPROVED,
        actor=reviewer,
        ip=ip,
        action="trainee.approved",
        check=_approvable,
    )


def trainee_return(*, trainee: Trainee, reviewer: User, reason: str, ip: str | None = None) -> Trainee:
    """Return a registration for correction; the trainee corrects attachment 2 through their link."""
    _reason_required(reason)
    return _transition(
        trainee=trainee,
        to=TraineeStatus.RETURNED,
        actor=reviewer,
        reason=reason,
        ip=ip,
        action="trainee.returned",
        check=_not_duplicate,
    )


def trainee_reject(*, trainee: Trainee, reviewer: User, reason: str, ip: str | None = None) -> Trainee:
    """Reject a registration (awaiting review or returned) with the reason."""
    _reason_required(reason)
    return _transition(
        trainee=trainee,
        to=TraineeStatus.REJECTED,
        actor=reviewer,
        reason=reason,
        ip=ip,
        action="trainee.rejected",
    )


def trainee_withdraw(*, trainee: Trainee, actor: User | None = None, ip: str | None = None) -> Trainee:
    """The unit (or the person) withdraws a registration before it is approved."""
    return _transition(
        trainee=trainee, to=TraineeStatus.WITHDRAWN, actor=actor, ip=ip, action="trainee.withdrawn"
    )
