"""Read-side queries of the learning app: enrollments, access checks, the pipeline, the dashboard."""

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from portal.models import AuditEntry, User
from registration.models import Programme, Trainee, TraineeStatus

from .conf import conf
from .models import (
    EXPIRY_AUDIT_ACTION,
    AccessCode,
    Course,
    CoursePlan,
    Enrollment,
    EnrollmentStatus,
    Lesson,
    LessonProgress,
    ProgrammeStudyRule,
    RecordStatus,
    StudyRecord,
    StudyState,
    class_hour_ms,
    hours_to_ms,
)

# ---------------------------------------------------------------------------------------------
# Access: what an enrollment allows. Study and exam code (later issues) call these.


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


# ---------------------------------------------------------------------------------------------
# The trainee's pages


def enrollments_for_user(*, user: User) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.filter(user=user)
        .select_related("trainee", "trainee__application", "programme")
        .order_by("-opened_at", "-id")
    )


@dataclass
class PipelineStep:
    """One stage of the trainee's pipeline as shown on their pages.

    ``state`` is one of "done", "current", "upcoming", "blocked". Later apps replace the steps
    they own through :data:`PIPELINE_STEP_PROVIDERS`.
    """

    key: str
    label: str
    state: str
    detail: str = ""
    when: datetime | None = None
    extra: dict = field(default_factory=dict)


# Later issues (study, exam, certificates, mailing) register ``key -> callable(enrollment, step) -> step``
# here (from their AppConfig.ready) to fill in their stage. They must not query per enrollment:
# prefetch what they need in a queryset passed to ``enrollments_for_user`` callers or cache it.
PIPELINE_STEP_PROVIDERS: dict[str, Callable[[Enrollment, PipelineStep], PipelineStep]] = {}

# Later apps may register ``callable(enrollments)`` here to load what their step providers read in
# one query for all the enrollments a page shows (they set attributes on the enrollments).
PIPELINE_PREFETCHERS: list[Callable[[list[Enrollment]], None]] = []


def enrollments_pipeline_prefetch(enrollments: list[Enrollment]) -> None:
    for prefetch in PIPELINE_PREFETCHERS:
        prefetch(enrollments)


LATER_STEPS = [
    ("study", "Study the courses"),
    ("exam", "Exam"),
    ("certificate", "Certificate"),
    ("mailing", "Certificate mailed"),
]


def enrollment_pipeline(enrollment: Enrollment, *, now: datetime | None = None) -> list[PipelineStep]:
    now = now or timezone.now()
    trainee = enrollment.trainee
    application = trainee.application
    steps = [
        PipelineStep(
            "application",
            _("Application"),
            "done" if trainee.status == TraineeStatus.APPROVED else "current",
            trainee.get_status_display(),
            application.submitted_at,
        ),
        PipelineStep(
            "payment",
            pgettext("pipeline step", "Payment"),
            "done" if trainee.paid_at else "current",
            _("Fee paid") if trainee.paid_at else _("Awaiting payment"),
            trainee.paid_at,
        ),
        PipelineStep("account", _("Study account"), "done", _("Account opened"), enrollment.opened_at),
    ]
    access = enrollment_access(enrollment, now=now)
    if enrollment.status == EnrollmentStatus.PASSED:
        window = PipelineStep("window", _("Study window"), "done", _("Completed"), enrollment.deadline)
    elif not access.can_study:
        window = PipelineStep(
            "window", _("Study window"), "blocked", _("Expired (void)"), enrollment.deadline
        )
    else:
        days = enrollment_days_left(enrollment, now=now)
        window = PipelineStep(
            "window",
            _("Study window"),
            "current",
            _("%(days)s days left") % {"days": days},
            enrollment.deadline,
            {"days_left": days},
        )
    steps.append(window)
    labels = {
        "study": _("Study the courses"),
        "exam": _("Exam"),
        "certificate": _("Certificate"),
        "mailing": _("Certificate mailed"),
    }
    for key, _english in LATER_STEPS:
        if enrollment.status == EnrollmentStatus.PASSED and key in ("study", "exam"):
            step = PipelineStep(key, labels[key], "done", _("Passed"))
        elif not access.can_study and enrollment.status != EnrollmentStatus.PASSED:
            step = PipelineStep(key, labels[key], "blocked")
        else:
            step = PipelineStep(key, labels[key], "upcoming")
        provider = PIPELINE_STEP_PROVIDERS.get(key)
        steps.append(provider(enrollment, step) if provider else step)
    return steps


# ---------------------------------------------------------------------------------------------
# Access codes


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


# ---------------------------------------------------------------------------------------------
# Staff: what is late, and the dashboard


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


def pipeline_counts(*, programme_id: int | None = None) -> dict[str, int]:
    """Counts per pipeline stage in two aggregate queries."""
    trainees = Trainee.objects.all()
    enrollments = Enrollment.objects.all()
    if programme_id:
        trainees = trainees.filter(programme_id=programme_id)
        enrollments = enrollments.filter(programme_id=programme_id)
    t = trainees.aggregate(
        registered=Count("pk"),
        approved=Count("pk", filter=Q(status=TraineeStatus.APPROVED)),
        paid=Count("pk", filter=Q(paid_at__isnull=False)),
    )
    e = enrollments.aggregate(
        opened=Count("pk"),
        active=Count("pk", filter=Q(status=EnrollmentStatus.ACTIVE)),
        expired=Count("pk", filter=Q(status=EnrollmentStatus.EXPIRED)),
        passed=Count("pk", filter=Q(status=EnrollmentStatus.PASSED)),
    )
    return {**t, **e}


def account_promise_days() -> int:
    return conf("LEARNING_ACCOUNT_PROMISE_DAYS")


# ---------------------------------------------------------------------------------------------
# Study: the course plan, progress and the exam unlock


def _hours(ms: int) -> Decimal:
    return (Decimal(ms) / class_hour_ms()).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def hours_display(ms: int) -> Decimal:
    """Class hours for display: one decimal, rounded down (never shows more than was earned)."""
    return (Decimal(ms) / class_hour_ms()).quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def plan_for(*, certificate_type: str, training_category: str) -> CoursePlan | None:
    return CoursePlan.objects.filter(
        certificate_type=certificate_type, training_category=training_category
    ).first()


def plan_lessons(plan: CoursePlan | None) -> list[Lesson]:
    """The required lessons of a plan: every active lesson of its active courses, in order (one query)."""
    if plan is None:
        return []
    return list(
        Lesson.objects.filter(course__plans=plan, course__is_active=True, is_active=True)
        .select_related("course")
        .order_by("course__order", "course__code", "order", "pk")
    )


def plans_hours() -> dict[tuple[str, str], int]:
    """Milliseconds of study in each plan, keyed by (certificate type, training category) (one query)."""
    from django.db.models import Sum

    rows = (
        CoursePlan.objects.filter(courses__is_active=True, courses__lessons__is_active=True)
        .values("certificate_type", "training_category")
        .annotate(hours=Sum("courses__lessons__class_hours"))
    )
    return {(r["certificate_type"], r["training_category"]): hours_to_ms(r["hours"] or 0) for r in rows}


def plan_shortfalls() -> list[dict]:
    """Plans whose hours fall short of a programme's required hours (for admin warnings)."""
    from registration.models import CertificateType, TrainingCategory

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

    @property
    def lessons(self) -> list[LessonRow]:
        return [row for course in self.courses for row in course.lessons]

    @property
    def done_ms(self) -> int:
        return sum(course.done_ms for course in self.courses)

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
        return self.all_lessons_done and self.done_ms >= self.required_ms

    def next_lesson(self) -> LessonRow | None:
        for row in self.lessons:
            if not row.completed:
                return row
        return None


def enrollment_study_overviews(enrollments) -> dict[int, StudyOverview]:
    """Courses, lessons and the time credited to each, for many enrollments in three queries
    (plans, their lessons, the progress rows)."""
    from django.db.models import F

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
        )
    return result


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


def lesson_progress_get(enrollment: Enrollment, lesson: Lesson) -> LessonProgress | None:
    return LessonProgress.objects.filter(enrollment=enrollment, lesson=lesson).first()


def daily_cap_ms(programme: Programme) -> int:
    """The programme's daily cap on credited study (its study rule, else ``LEARNING_DAILY_CAP_HOURS``)."""
    try:
        hours = programme.study_rule.daily_cap_hours
    except ProgrammeStudyRule.DoesNotExist:
        hours = conf("LEARNING_DAILY_CAP_HOURS")
    return hours_to_ms(hours)


# Later issues (exams) add lines to the training record: ``callable(enrollment) -> list[dict]`` with
# keys "when", "kind", "item", "detail", "minutes" (see :func:`training_record`).
TRAINING_RECORD_SECTIONS: list[Callable[[Enrollment], list[dict]]] = []


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
    """The training record (培训档案) of each enrollment: its study lines and staff entries (one query
    for all), then what later apps add through :data:`TRAINING_RECORD_SECTIONS` (exam attempts)."""
    enrollments = list(enrollments)
    lines: dict[int, list[dict]] = {e.pk: [] for e in enrollments}
    records = (
        StudyRecord.objects.filter(enrollment__in=[e.pk for e in enrollments])
        .select_related("lesson__course", "actor")
        .order_by("enrollment_id", "started_at", "pk")
    )
    for record in records:
        lines[record.enrollment_id].append(_record_line(record))
    result = []
    for enrollment in enrollments:
        rows = lines[enrollment.pk]
        for section in TRAINING_RECORD_SECTIONS:
            rows.extend(section(enrollment))
        rows.sort(key=lambda row: row["when"])
        result.append((enrollment, rows))
    return result


def training_record(enrollment: Enrollment) -> list[dict]:
    return training_records([enrollment])[0][1]


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
