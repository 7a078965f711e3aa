"""The study window: expiry and extension.

Every enrollment has a deadline (``Programme.study_window_days`` after the account opened). Once it
passes without a passed exam, :func:`enrollments_expire` voids the enrollment: the statuses it voids
are ``learning.models.EXPIRABLE_STATUSES`` (kept in the models, where the partial deadline index
uses them). Staff with ``learning.extend_enrollment`` extend a window (:func:`enrollment_extend`),
which makes an expired enrollment active again. The reminders before the deadline and the notice
of the expiry are notices (:mod:`learning.services.messages`).
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from ..models import EXPIRABLE_STATUSES, EXPIRY_AUDIT_ACTION, Enrollment, EnrollmentStatus
from .messages import enrollments_expired_notify


def enrollments_expire(*, now: datetime | None = None) -> int:
    """Void every enrollment whose deadline passed without a pass. Returns how many.

    Set-based, whatever the number of rows: one UPDATE that also tags the rows with this run's id
    (``expiry_run``), and one audit entry for the run (``EXPIRY_AUDIT_ACTION``) carrying that id and
    the count. An enrollment's history finds its expiry through the id
    (:func:`learning.selectors.enrollments.enrollment_history`).
    """
    now = now or timezone.now()
    run = uuid.uuid4()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The job is idempotent and access is refused past the deadline anyway, so this batch
            # commit need not wait for the WAL flush: a commit lost in a crash is redone next run.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        count = Enrollment.objects.filter(status__in=EXPIRABLE_STATUSES, deadline__lte=now).update(
            status=EnrollmentStatus.EXPIRED, status_changed_at=now, expired_at=now, expiry_run=run
        )
        if count:
            with translation.override(settings.LANGUAGE_CODE):
                reason = _("The study window ended without a passed exam; the study account is void.")
            audit_record(
                actor=None,
                action=EXPIRY_AUDIT_ACTION,
                old={"status": [str(status) for status in EXPIRABLE_STATUSES]},
                new={
                    "status": EnrollmentStatus.EXPIRED.value,
                    "expired_at": now.isoformat(),
                    "run": str(run),
                    "count": count,
                },
                reason=reason,
            )
            enrollments_expired_notify(run=run)  # recorded here, sent after the commit
    return count


def enrollment_extend(
    *, enrollment: Enrollment, days: int, reason: str, actor: User, ip: str | None = None
) -> Enrollment:
    """Extend the study window by ``days`` (from the deadline, or from now if it has passed).

    An expired enrollment becomes active again. Needs ``learning.extend_enrollment``; audited.
    """
    if not actor.has_perm("learning.extend_enrollment"):
        raise PermissionDenied(_("You may not extend study windows."))
    if not 1 <= int(days) <= 365:
        raise ValidationError({"days": _("Extend by 1 to 365 days.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the extension.")})
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status == EnrollmentStatus.PASSED:
            raise ValidationError(_("This trainee has passed; there is no study window to extend."))
        now = timezone.now()
        old = {"status": enrollment.status, "deadline": enrollment.deadline.isoformat()}
        if enrollment.status == EnrollmentStatus.EXPIRED and enrollment.expiry_run:
            # Keeps the link to the expiry run's audit entry, which the row forgets below.
            old["expiry_run"] = str(enrollment.expiry_run)
        enrollment.deadline = max(enrollment.deadline, now) + timedelta(days=int(days))
        if enrollment.status == EnrollmentStatus.EXPIRED:
            enrollment.status = EnrollmentStatus.ACTIVE
            enrollment.status_changed_at = now
            enrollment.expired_at = None
            enrollment.expiry_run = None
        enrollment.extended_days += int(days)
        enrollment.last_extended_at = now
        enrollment.last_extension_reason = reason
        enrollment.save()
        audit_record(
            actor=actor,
            action="enrollment.extended",
            target=enrollment,
            old=old,
            new={"status": enrollment.status, "deadline": enrollment.deadline.isoformat(), "days": int(days)},
            reason=reason,
            ip=ip,
        )
    return enrollment
