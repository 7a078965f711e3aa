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
