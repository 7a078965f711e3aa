"""The training record (培训档案): every span of study with how it was credited, the staff entries,
and the lines other apps add (the exams app: each exam attempt)."""

from collections.abc import Callable

from django.utils.translation import gettext as _

from ..models import Enrollment, RecordStatus, StudyRecord

# The lines other apps add (the exams app: each exam attempt), registered from their
# AppConfig.ready: ``callable(enrollments) -> {enrollment id: [line, ...]}``, one query for all the
# enrollments. A line is a dict with the keys of :func:`_record_line`: "when", "until", "kind"
# (what the line is), "item", "detail", "minutes" (``None``: no study time) and "credited"
# (whether the time counts; ``None`` when the line carries no time).
TRAINING_RECORD_SECTIONS: list[Callable[[list[Enrollment]], dict[int, list[dict]]]] = []


def _record_line(record: StudyRecord) -> dict:
    detail = [record.get_status_display()]
    if record.heartbeats:
        detail.append(_("%(count)s heartbeats") % {"count": record.heartbeats})
    if record.presence_check:
        detail.append(_("presence check %(n)s") % {"n": record.presence_check})
    if record.actor_id:
        detail.append(str(record.actor))
    if record.reason:
        detail.append(record.reason)
    return {
        "when": record.started_at,
        "until": record.ended_at,
        "kind": record.get_source_display(),
        "item": f"{record.lesson.course.title} / {record.lesson.title}",
        "detail": " · ".join(detail),
        "minutes": record.minutes,
        "credited": record.status != RecordStatus.DISCARDED,
    }


def training_records(enrollments) -> list[tuple[Enrollment, list[dict]]]:
    """The training record (培训档案) of each enrollment, oldest line first: its study lines and staff
    entries (one query for all), and the lines of :data:`TRAINING_RECORD_SECTIONS` (one query each)."""
    enrollments = list(enrollments)
    lines: dict[int, list[dict]] = {e.pk: [] for e in enrollments}
    records = (
        StudyRecord.objects.filter(enrollment__in=[e.pk for e in enrollments])
        .select_related("lesson__course", "actor")
        .order_by("enrollment_id", "started_at", "pk")
    )
    for record in records:
        lines[record.enrollment_id].append(_record_line(record))
    for section in TRAINING_RECORD_SECTIONS:
        for enrollment_id, rows in section(enrollments).items():
            lines[enrollment_id].extend(rows)
    for rows in lines.values():
        rows.sort(key=lambda row: row["when"])
    return [(enrollment, lines[enrollment.pk]) for enrollment in enrollments]
