"""Passing: the exams app marks an enrollment passed when its exam is passed."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from ..models import Enrollment, EnrollmentStatus


def enrollment_mark_passed(
    *, enrollment: Enrollment, passed_at: datetime, actor: User | None = None
) -> Enrollment:
    """Mark an active enrollment passed (the exam was passed). Idempotent for a passed one."""
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status == EnrollmentStatus.PASSED:
            return enrollment
        if enrollment.status != EnrollmentStatus.ACTIVE:
            raise ValidationError(_("Only an active enrollment can be marked passed."))
        old = {"status": enrollment.status}
        enrollment.status = EnrollmentStatus.PASSED
        enrollment.status_changed_at = timezone.now()
        enrollment.passed_at = passed_at
        enrollment.save(update_fields=["status", "status_changed_at", "passed_at"])
        audit_record(
            actor=actor,
            action="enrollment.passed",
            target=enrollment,
            old=old,
            new={"status": enrollment.status, "passed_at": passed_at.isoformat()},
        )
    return enrollment


def enrollment_pass_annul(*, enrollment: Enrollment, reason: str, actor: User | None = None) -> Enrollment:
    """Undo the pass of an enrollment (the exam photo was rejected by staff, issue #23): active again,
    so the trainee may sit a resit if attempts remain. Call it inside the transaction that decided
    it; idempotent for an enrollment that is not passed."""
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status != EnrollmentStatus.PASSED:
            return enrollment
        old = {"status": enrollment.status, "passed_at": enrollment.passed_at.isoformat()}
        enrollment.status = EnrollmentStatus.ACTIVE
        enrollment.status_changed_at = timezone.now()
        enrollment.passed_at = None
        enrollment.save(update_fields=["status", "status_changed_at", "passed_at"])
        audit_record(
            actor=actor,
            action="enrollment.pass_annulled",
            target=enrollment,
            old=old,
            new={"status": enrollment.status},
            reason=reason,
        )
    return enrollment
