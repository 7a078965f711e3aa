"""Class hours earned elsewhere (e.g. classroom training), entered by staff for one lesson of a
trainee's plan: credited at once (confirmed, no presence check), capped at what the lesson still
lacks, audited with the reason."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from ..models import Enrollment, Lesson, LessonProgress, RecordSource, RecordStatus, StudyRecord, StudyState
from ..selectors.study import enrollment_lesson


def study_hours_record(
    *,
    enrollment: Enrollment,
    lesson: Lesson,
    minutes: int,
    reason: str,
    actor: User,
    ip: str | None = None,
) -> StudyRecord:
    """Staff record class hours earned elsewhere (e.g. classroom training) for one lesson of the
    trainee's plan. Capped at what the lesson still lacks; audited."""
    if not actor.has_perm("learning.record_hours"):
        raise PermissionDenied(_("You may not record class hours."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason (where the hours were earned).")})
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        minutes = 0
    if not 1 <= minutes <= 24 * 60:
        raise ValidationError({"minutes": _("Enter between 1 and 1440 minutes.")})
    if enrollment_lesson(enrollment, lesson.pk) is None:
        raise ValidationError({"lesson": _("This lesson is not in the trainee's course plan.")})
    now = timezone.now()
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        StudyState.objects.select_for_update().filter(enrollment=enrollment).first()
        progress, _created = LessonProgress.objects.select_for_update().get_or_create(
            enrollment=enrollment, lesson=lesson, defaults={"started_at": now, "updated_at": now}
        )
        required = lesson.required_ms
        credit = min(minutes * 60_000, max(0, required - progress.credited_ms))
        if credit <= 0:
            raise ValidationError({"lesson": _("This lesson already has all its class hours.")})
        completed = progress.credited_ms + credit >= required
        LessonProgress.objects.filter(pk=progress.pk).update(
            credited_ms=F("credited_ms") + credit,
            updated_at=now,
            completed_at=progress.completed_at or (now if completed else None),
        )
        record = StudyRecord.objects.create(
            enrollment=enrollment,
            lesson=lesson,
            source=RecordSource.STAFF,
            status=RecordStatus.CONFIRMED,
            credited_ms=credit,
            started_at=now,
            ended_at=now,
            day=timezone.localdate(now),
            resolved_at=now,
            actor=actor,
            reason=reason,
        )
        audit_record(
            actor=actor,
            action="study.hours_recorded",
            target=enrollment,
            new={"lesson": lesson.code, "minutes_asked": minutes, "credited_ms": credit, "record": record.pk},
            reason=reason,
            ip=ip,
        )
    return record
