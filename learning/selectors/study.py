"""Study reads: course plans and their hours, each enrollment's study overview (lessons and the
time credited to each), presence checks, the exam unlock and the "study" pipeline stage."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from django.db.models import Exists, F, Max, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from registration.models import CertificateType, Programme, TrainingCategory

from ..conf import conf
from ..models import (
    Course,
    CoursePlan,
    Enrollment,
    Lesson,
    LessonProgress,
    OfflineCheckIn,
    OfflineSession,
    RecordStatus,
    StudyRecord,
    StudyState,
    class_hour_ms,
    hours_to_ms,
)
from .enrollments import enrollment_access
from .pipeline import PipelineStep


def _hours(ms: int) -> Decimal:
    return (Decimal(ms) / class_hour_ms()).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def hours_display(ms: int) -> Decimal:
    """Class hours for display: one decimal, rounded down (never shows more than was earned)."""
    return (Decimal(ms) / class_hour_ms()).quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def plans_hours() -> dict[tuple[str, str], int]:
    """Milliseconds of study in each plan, keyed by (certificate type, training category) (one query)."""
    rows = (
        CoursePlan.objects.filter(courses__is_active=True, courses__lessons__is_active=True)
        .values("certificate_type", "training_category")
        .annotate(hours=Sum("courses__lessons__class_hours"))
    )
    return {(r["certificate_type"], r["training_category"]): hours_to_ms(r["hours"] or 0) for r in rows}


def plan_shortfalls() -> list[dict]:
    """Plans whose hours fall short of a programme's required hours (for admin warnings)."""
    hours = plans_hours()
    programmes = list(Programme.objects.order_by("-year", "-opens_on")[:3])
    rows = []
    for plan in CoursePlan.objects.all():
        plan_ms = hours.get((plan.certificate_type, plan.training_category), 0)
        for programme in programmes:
            required = programme.hours_for(plan.training_category)
            if plan_ms < hours_to_ms(required):
                rows.append(
                    {
                        "plan": plan,
                        "programme": programme,
                        "plan_hours": _hours(plan_ms),
                        "required_hours": required,
                    }
                )
    present = {(p.certificate_type, p.training_category) for p in CoursePlan.objects.all()}
    for certificate_type in CertificateType.values:
        for category in TrainingCategory.values:
            if (certificate_type, category) not in present:
                rows.append(
                    {
                        "plan": None,
                        "label": f"{CertificateType(certificate_type).label} · {TrainingCategory(category).label}",
                        "programme": None,
                        "plan_hours": Decimal(0),
                        "required_hours": None,
                    }
                )
    return rows


@dataclass
class LessonRow:
    lesson: Lesson
    credited_ms: int
    required_ms: int
    completed: bool

    @property
    def state(self) -> str:
        if self.completed:
            return "done"
        return "in_progress" if self.credited_ms > 0 else "not_started"

    @property
    def hours(self) -> Decimal:
        return self.lesson.class_hours

    @property
    def hours_done(self) -> Decimal:
        return hours_display(self.credited_ms)

    @property
    def percent(self) -> int:
        return min(100, int(self.credited_ms * 100 / self.required_ms)) if self.required_ms else 100

    @property
    def minutes_done(self) -> int:
        """Whole minutes credited (the lesson page counts in minutes, not in 0.1 class-hour steps)."""
        return min(self.credited_ms, self.required_ms) // 60_000

    @property
    def minutes_required(self) -> int:
        return -(-self.required_ms // 60_000)

    @property
    def minutes_left(self) -> int:
        """Minutes still to spend on the lesson (rounded up: 30 s left is still a minute to stay)."""
        return -(-max(0, self.required_ms - self.credited_ms) // 60_000)


@dataclass
class CourseRow:
    course: Course
    lessons: list[LessonRow]

    @property
    def done_ms(self) -> int:
        return sum(min(row.credited_ms, row.required_ms) for row in self.lessons)

    @property
    def required_ms(self) -> int:
        return sum(row.required_ms for row in self.lessons)

    @property
    def hours_done(self) -> Decimal:
        return hours_display(self.done_ms)

    @property
    def hours_required(self) -> Decimal:
        return sum((row.lesson.class_hours for row in self.lessons), Decimal(0))

    @property
    def state(self) -> str:
        if all(row.completed for row in self.lessons):
            return "done"
        return "in_progress" if self.done_ms else "not_started"

    @property
    def percent(self) -> int:
        return min(100, int(self.done_ms * 100 / self.required_ms)) if self.required_ms else 100


@dataclass
class StudyOverview:
    enrollment: Enrollment
    plan: CoursePlan | None
    courses: list[CourseRow]
    required_hours: int
    extra_ms: int = 0
    # Offline class hours (issue #23): attended (sessions checked in to) and required before the exam.
    offline_ms: int = 0
    offline_required_ms: int = 0

    @property
    def lessons(self) -> list[LessonRow]:
        return [row for course in self.courses for row in course.lessons]

    @property
    def online_ms(self) -> int:
        return sum(course.done_ms for course in self.courses)

    @property
    def done_ms(self) -> int:
        """Online and offline hours together: what counts toward the programme's hours."""
        return self.online_ms + self.offline_ms

    @property
    def hours_online(self) -> Decimal:
        return hours_display(self.online_ms)

    @property
    def hours_offline(self) -> Decimal:
        return hours_display(self.offline_ms)

    @property
    def offline_required_hours(self) -> Decimal:
        return hours_display(self.offline_required_ms)

    @property
    def offline_left_ms(self) -> int:
        return max(0, self.offline_required_ms - self.offline_ms)

    @property
    def offline_hours_left(self) -> Decimal:
        return (Decimal(self.offline_left_ms) / class_hour_ms()).quantize(Decimal("0.1"), rounding=ROUND_UP)

    @property
    def unlock_message(self) -> str:
        """Why the exam is still locked by the hours ("" when the hours are done): the one message."""
        if self.complete:
            return ""
        if self.offline_left_ms and self.all_lessons_done and self.done_ms >= self.required_ms:
            return _(
                "The exam unlocks once you have attended %(required)s offline class hours "
                "(%(left)s still to attend)."
            ) % {"required": self.offline_required_hours, "left": self.offline_hours_left}
        message = _("%(left)s class hours still to study before the exam unlocks.") % {
            "left": self.hours_left
        }
        if self.offline_left_ms:
            message += " " + _("Of them, %(left)s offline class hours still to attend.") % {
                "left": self.offline_hours_left
            }
        return message

    @property
    def required_ms(self) -> int:
        return hours_to_ms(self.required_hours)

    @property
    def hours_done(self) -> Decimal:
        return hours_display(self.done_ms)

    @property
    def percent(self) -> int:
        return min(100, int(self.done_ms * 100 / self.required_ms)) if self.required_ms else 100

    @property
    def all_lessons_done(self) -> bool:
        lessons = self.lessons
        return bool(lessons) and all(row.completed for row in lessons)

    @property
    def complete(self) -> bool:
        """The hours rule of the exam unlock: every lesson complete, the programme's hours reached
        (online and offline together) and the offline hours the programme requires attended."""
        return (
            self.all_lessons_done
            and self.done_ms >= self.required_ms
            and self.offline_ms >= self.offline_required_ms
        )

    @property
    def lessons_ms(self) -> int:
        """The class hours of all the plan's lessons (may be more than the programme requires)."""
        return sum(row.required_ms for row in self.lessons)

    @property
    def lessons_exceed_required(self) -> bool:
        """The lessons add up to more than the required hours: every lesson must still be complete."""
        return self.lessons_ms > self.required_ms

    @property
    def left_ms(self) -> int:
        """Study still needed to unlock the exam (every lesson complete, the hours reached)."""
        return max(0, self.lessons_ms - self.online_ms, self.required_ms - self.done_ms)

    @property
    def hours_lessons(self) -> Decimal:
        return hours_display(self.lessons_ms)

    @property
    def hours_left(self) -> Decimal:
        """Rounded up (a few minutes still needed never show as 0.0)."""
        return (Decimal(self.left_ms) / class_hour_ms()).quantize(Decimal("0.1"), rounding=ROUND_UP)

    @property
    def lessons_left(self) -> int:
        return sum(1 for row in self.lessons if not row.completed)

    def next_lesson(self) -> LessonRow | None:
        for row in self.lessons:
            if not row.completed:
                return row
        return None


def enrollment_study_overviews(enrollments) -> dict[int, StudyOverview]:
    """Courses, lessons and the time credited to each, for many enrollments in three queries
    (plans, their lessons, the progress rows)."""
    enrollments = list(enrollments)
    if not enrollments:
        return {}
    keys = {(e.trainee.certificate_type, e.trainee.training_category) for e in enrollments}
    plans = {
        (plan.certificate_type, plan.training_category): plan
        for plan in CoursePlan.objects.all()
        if (plan.certificate_type, plan.training_category) in keys
    }
    lessons_by_plan: dict[int, list[Lesson]] = {plan.pk: [] for plan in plans.values()}
    if plans:
        lessons = (
            Lesson.objects.filter(
                course__plans__in=list(lessons_by_plan), course__is_active=True, is_active=True
            )
            .annotate(plan_id=F("course__plans"))
            .select_related("course")
            .order_by("course__order", "course__code", "order", "pk")
        )
        for lesson in lessons:
            lessons_by_plan[lesson.plan_id].append(lesson)
    progress = {
        (row["enrollment_id"], row["lesson_id"]): row["credited_ms"]
        for row in LessonProgress.objects.filter(enrollment__in=[e.pk for e in enrollments]).values(
            "enrollment_id", "lesson_id", "credited_ms"
        )
    }
    offline = enrollment_offline_ms([e.pk for e in enrollments])
    result = {}
    for enrollment in enrollments:
        trainee = enrollment.trainee
        plan = plans.get((trainee.certificate_type, trainee.training_category))
        courses: dict[int, CourseRow] = {}
        for lesson in lessons_by_plan.get(plan.pk, []) if plan else []:
            credited = progress.get((enrollment.pk, lesson.pk), 0)
            required = lesson.required_ms
            course = courses.setdefault(lesson.course_id, CourseRow(lesson.course, []))
            course.lessons.append(LessonRow(lesson, credited, required, credited >= required))
        result[enrollment.pk] = StudyOverview(
            enrollment=enrollment,
            plan=plan,
            courses=list(courses.values()),
            required_hours=enrollment.programme.hours_for(trainee.training_category),
            offline_ms=offline.get(enrollment.pk, (0, 0))[0],
            offline_required_ms=offline.get(enrollment.pk, (0, 0))[1],
        )
    return result


def enrollment_offline_ms(enrollment_ids) -> dict[int, tuple[int, int]]:
    """Per enrollment: the offline class hours attended and those its programme requires, in
    milliseconds (one query)."""
    rows = (
        Enrollment.objects.filter(pk__in=list(enrollment_ids))
        .values("pk")
        .annotate(
            attended=Sum("offline_checkins__session__hours"),
            required=Max("programme__study_rule__offline_hours_required"),
        )
    )
    return {row["pk"]: (hours_to_ms(row["attended"] or 0), hours_to_ms(row["required"] or 0)) for row in rows}


def enrollment_offline_checkins(enrollment: Enrollment) -> list[OfflineCheckIn]:
    """The offline sessions the enrollment checked in to, in time order (one query)."""
    return list(
        OfflineCheckIn.objects.filter(enrollment=enrollment)
        .select_related("session")
        .order_by("session__starts_at", "pk")
    )


def programme_offline_sessions(
    programme_id: int, *, enrollment: Enrollment | None = None
) -> list[OfflineSession]:
    """The programme's offline sessions, in time order; with ``enrollment``, each marked
    ``checked_in`` (one query)."""
    sessions = OfflineSession.objects.filter(programme_id=programme_id).order_by("starts_at", "pk")
    if enrollment is not None:
        sessions = sessions.annotate(
            checked_in=Exists(OfflineCheckIn.objects.filter(session=OuterRef("pk"), enrollment=enrollment))
        )
    return list(sessions)


def enrollment_study_overview(enrollment: Enrollment) -> StudyOverview:
    return enrollment_study_overviews([enrollment])[enrollment.pk]


def presence_check_overdue(state: StudyState | None, *, now: datetime | None = None) -> bool:
    if state is None or state.check_issued_at is None:
        return False
    now = now or timezone.now()
    return now > state.check_issued_at + timedelta(
        seconds=conf("LEARNING_PRESENCE_ANSWER_SECONDS") + PRESENCE_GRACE_SECONDS
    )


# Network delay allowed on top of the answer time.
PRESENCE_GRACE_SECONDS = 5


def enrollment_exam_unlocked(enrollment: Enrollment) -> bool:
    """May the exam start? Every required lesson complete, the programme's hours (32 initial /
    12 refresher) credited, no missed presence check waiting to take time off, and the enrollment
    allows the exam (not voided, expired or already passed)."""
    access = enrollment_access(enrollment)
    if not access.can_sit_exam:
        return False
    overview = enrollment_study_overview(enrollment)
    if not overview.complete:
        return False
    state = StudyState.objects.filter(enrollment=enrollment).only("check_issued_at").first()
    return not presence_check_overdue(state)


def enrollment_lesson(enrollment: Enrollment, lesson_pk: int) -> Lesson | None:
    """The lesson if it belongs to the enrollment's course plan (else ``None``: a 404 for the page)."""
    trainee = enrollment.trainee
    return (
        Lesson.objects.filter(
            pk=lesson_pk,
            is_active=True,
            course__is_active=True,
            course__plans__certificate_type=trainee.certificate_type,
            course__plans__training_category=trainee.training_category,
        )
        .select_related("course")
        .first()
    )


def lesson_time_removals(enrollment: Enrollment, lesson: Lesson, *, limit: int = 10) -> list[StudyRecord]:
    """The study time of this lesson that was taken off again (a presence check missed, on the page
    or by the overdue sweep after the learner left), newest first: the lesson page explains each."""
    return list(
        StudyRecord.objects.filter(
            enrollment=enrollment, lesson=lesson, status=RecordStatus.DISCARDED, credited_ms__gt=0
        ).order_by("-resolved_at", "-pk")[:limit]
    )


def study_pipeline_step(enrollment: Enrollment, step: PipelineStep) -> PipelineStep:
    """The "study" stage: class hours done of required (from the overview the views attach; no query)."""
    overview: StudyOverview | None = getattr(enrollment, "_study_overview", None)
    if overview is None or step.state in ("done", "blocked"):
        return step
    step.state = "done" if overview.complete else "current"
    step.detail = _("%(done)s of %(required)s class hours") % {
        "done": overview.hours_done,
        "required": overview.required_hours,
    }
    step.extra = {**step.extra, "percent": overview.percent}
    return step
