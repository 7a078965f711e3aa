"""What an enrollment allows right now, its deadline, its history, and a trainee's own enrollments.

Study, exams and certificates read :func:`enrollment_access` / :func:`enrollment_access_check`
before letting a trainee in.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import AuditEntry, User

from ..models import EXPIRY_AUDIT_ACTION, Enrollment, EnrollmentStatus


@dataclass(frozen=True)
class EnrollmentAccess:
    can_study: bool
    can_sit_exam: bool
    reason: str = ""


def enrollment_access(enrollment: Enrollment, *, now: datetime | None = None) -> EnrollmentAccess:
    """May the trainee study / sit the exam in this enrollment right now?

    A voided (expired) enrollment, or one whose deadline has passed before the expiry job ran,
    allows neither. A passed one needs neither.
    """
    now = now or timezone.now()
    if enrollment.status == EnrollmentStatus.EXPIRED or (
        enrollment.status == EnrollmentStatus.ACTIVE and enrollment.deadline <= now
    ):
        return EnrollmentAccess(False, False, _("The study window has ended; this study account is void."))
    if enrollment.status == EnrollmentStatus.PASSED:
        return EnrollmentAccess(False, False, _("You have already passed this training."))
    return EnrollmentAccess(True, True)


def enrollment_access_check(
    *, enrollment: Enrollment, action: str = "study", now: datetime | None = None
) -> None:
    """Raise ``PermissionDenied`` (with the reason) unless ``action`` ("study" or "exam") is allowed."""
    access = enrollment_access(enrollment, now=now)
    allowed = access.can_study if action == "study" else access.can_sit_exam
    if not allowed:
        raise PermissionDenied(access.reason)


def enrollment_days_left(enrollment: Enrollment, *, now: datetime | None = None) -> int:
    """Whole days (rounded up) until the deadline; 0 once it has passed."""
    now = now or timezone.now()
    seconds = (enrollment.deadline - now).total_seconds()
    return max(0, math.ceil(seconds / 86400))


def enrollment_history(enrollment: Enrollment) -> list[AuditEntry]:
    """The audit entries about one enrollment, oldest first (two queries).

    Its own entries (opened, extended, passed, ...) plus the entry of each expiry run that voided
    it: the expiry job writes one entry per run, found through the run id the enrollment keeps in
    ``expiry_run`` (or, once extended again, in the extension's old value).
    """
    own = list(
        AuditEntry.objects.filter(
            target_type=ContentType.objects.get_for_model(Enrollment), target_id=str(enrollment.pk)
        ).select_related("actor")
    )
    runs = {str(enrollment.expiry_run)} if enrollment.expiry_run else set()
    runs |= {
        str(entry.old_value["expiry_run"])
        for entry in own
        if isinstance(entry.old_value, dict) and entry.old_value.get("expiry_run")
    }
    if runs:
        own += AuditEntry.objects.filter(action=EXPIRY_AUDIT_ACTION, new_value__run__in=sorted(runs))
    return sorted(own, key=lambda entry: (entry.created_at, entry.pk))


def enrollments_for_user(*, user: User) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.filter(user=user)
        .select_related("trainee", "trainee__application", "programme")
        .order_by("-opened_at", "-id")
    )
