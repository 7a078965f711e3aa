"""Read-side queries of the exams app: access, templates, attempts, practice and staff statistics.

No correct answer while an exam runs. Practice draws from the same bank as
the papers, so while a user has an exam attempt running (in progress and its time not up, on any
of their enrollments: one study account may hold several) nothing that shows a correct answer is
open to them: practice (every mode, GET and POST: :func:`practice_access`) and the review of the
wrong answers of earlier attempts (:func:`answers_access`). Both reopen when the paper is
submitted or its time is up (a paper can no longer change then: a late answer or submit is
graded with what was saved). ``exams.services.practice_answer`` checks again inside its
transaction, with the user's enrollment rows locked as ``attempt_start`` locks the one it starts,
so a practice answer sent from a second tab while an attempt starts is either recorded before the
paper is drawn or refused. Answers learnt before an attempt (practice, an earlier review) are
study, as the notice intends; the papers therefore keep the one bank rather than a separate exam
pool (which would halve the bank trainees study from) or per-attempt exclusions (nothing is shown
during an attempt, so nothing needs excluding).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, F, FloatField, Max, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import (
    Attempt,
    AttemptQuestion,
    AttemptStatus,
    ExamTemplate,
    PracticeItem,
    Question,
    QuestionType,
    certificate_q,
    topic_label,
)
from .rendering import points_text

# ---------------------------------------------------------------------------------------------
# Access


@dataclass(frozen=True)
class ExamAccess:
    allowed: bool
    reason: str = ""
    # The exam attempt that closes the page (practice, a review) while it runs: the page links to it.
    attempt: Attempt | None = None

    def __bool__(self) -> bool:
        return self.allowed


def exam_access(enrollment, *, now: datetime | None = None) -> ExamAccess:
    """May the trainee sit the exam of ``enrollment`` now? The study window must allow it
    (``learning.selectors.enrollments.enrollment_access_check(action="exam")``) and the study must
    be complete (``learning.selectors.study.enrollment_exam_unlocked``)."""
    from learning.selectors.enrollments import enrollment_access_check
    from learning.selectors.study import enrollment_exam_unlocked

    try:
        enrollment_access_check(enrollment=enrollment, action="exam", now=now)
    except PermissionDenied as exc:
        return ExamAccess(False, str(exc))
    if not enrollment_exam_unlocked(enrollment):
        return ExamAccess(
            False,
            _("The exam unlocks when every required lesson is complete and the class hours are reached."),
        )
    return ExamAccess(True)


ANSWERS_CLOSED_DURING_EXAM = gettext_lazy(
    "You have an exam in progress. Practice and the review of earlier answers open again once you "
    "have submitted the paper or its time is up."
)


def exam_running(*, user_id: int, now: datetime | None = None) -> Attempt | None:
    """The exam attempt ``user_id`` has running (in progress, time not up) on any of their
    enrollments, else ``None`` (one query)."""
    now = now or timezone.now()
    return (
        Attempt.objects.filter(
            enrollment__user_id=user_id, status=AttemptStatus.IN_PROGRESS, deadline__gt=now
        )
        .order_by("deadline")
        .first()
    )


def answers_access(*, user_id: int, now: datetime | None = None) -> ExamAccess:
    """May pages show ``user_id`` correct answers (practice feedback, the review of an earlier
    attempt)? Not while they have an exam running: the reason names the attempt to go back to."""
    running = exam_running(user_id=user_id, now=now)
    if running is not None:
        return ExamAccess(False, str(ANSWERS_CLOSED_DURING_EXAM), attempt=running)
    return ExamAccess(True)


def practice_access(enrollment, *, now: datetime | None = None) -> ExamAccess:
    """Practice is open whenever study is (no unlock needed), except while the trainee has an exam
    running (:func:`answers_access`)."""
    from learning.selectors.enrollments import enrollment_access_check

    try:
        enrollment_access_check(enrollment=enrollment, action="study", now=now)
    except PermissionDenied as exc:
        return ExamAccess(False, str(exc))
    return answers_access(user_id=enrollment.user_id, now=now)


# ---------------------------------------------------------------------------------------------
# Templates


def template_for(*, programme, certificate_type: str, training_category: str) -> ExamTemplate | None:
    """The programme's own active template for the combination, else the default one."""
    return (
        ExamTemplate.objects.filter(
            Q(programme=programme) | Q(programme__isnull=True),
            certificate_type=certificate_type,
            training_category=training_category,
            is_active=True,
        )
        .order_by(F("programme_id").asc(nulls_last=True))
        .first()
    )


def template_for_enrollment(enrollment) -> ExamTemplate | None:
    trainee = enrollment.trainee
    return template_for(
        programme=enrollment.programme,
        certificate_type=trainee.certificate_type,
        training_category=trainee.training_category,
    )


def template_total_points(rules) -> Decimal:
    return sum((rule.points * rule.count for rule in rules), Decimal("0"))


def template_pass_mark(template: ExamTemplate, programme, total_points: Decimal) -> Decimal:
    """The template's pass mark (points), else the programme's pass mark (of 100) scaled to the paper."""
    if template.pass_mark is not None:
        return template.pass_mark
    mark = total_points * Decimal(programme.exam_pass_mark) / Decimal(100)
    return mark.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def template_resits(template: ExamTemplate, programme) -> int:
    return template.resits if template.resits is not None else programme.exam_resits


def bank_pool(certificate_type: str) -> list[dict]:
    """Active questions for a certificate type: id, type and topic only (one query)."""
    return list(
        Question.objects.filter(certificate_q(certificate_type), is_active=True).values(
            "id", "qtype", "topic"
        )
    )


def rules_in_draw_order(rules) -> list:
    """Topic rules first, so that the general rules of the same type take what is left."""
    return sorted(rules, key=lambda rule: (rule.topic == "", rule.pk or 0))


def template_shortfalls(rules, pool: list[dict]) -> list[str]:
    """Why the bank (``pool``) cannot fill a paper with these rules; empty if it can."""
    by_type = Counter(q["qtype"] for q in pool)
    by_topic = Counter((q["qtype"], q["topic"]) for q in pool)
    used_type: Counter = Counter()
    used_topic: Counter = Counter()
    problems = []
    labels = dict(QuestionType.choices)
    for rule in rules_in_draw_order(rules):
        if rule.topic:
            available = by_topic[(rule.qtype, rule.topic)] - used_topic[(rule.qtype, rule.topic)]
        else:
            available = by_type[rule.qtype] - used_type[rule.qtype]
        if available < rule.count:
            problems.append(
                _("%(type)s, topic %(topic)s: needs %(count)s questions, the bank has %(available)s.")
                % {
                    "type": labels.get(rule.qtype, rule.qtype),
                    "topic": topic_label(rule.topic) if rule.topic else _("any"),
                    "count": rule.count,
                    "available": max(available, 0),
                }
            )
        taken = min(rule.count, max(available, 0))
        used_type[rule.qtype] += taken
        if rule.topic:
            used_topic[(rule.qtype, rule.topic)] += taken
    return problems


# ---------------------------------------------------------------------------------------------
# Attempts


def attempts_for_enrollment(enrollment) -> list[Attempt]:
    return list(Attempt.objects.filter(enrollment=enrollment).order_by("number"))


def attempt_for_user(*, user, pk: int, with_enrollment: bool = True) -> Attempt | None:
    """The attempt ``pk`` if it is ``user``'s, with its template (and its enrollment, programme and
    trainee unless ``with_enrollment`` is false: the paper and the timer do not need them)."""
    related = ["enrollment", "enrollment__programme", "enrollment__trainee"] if with_enrollment else []
    return Attempt.objects.select_related(*related, "template").filter(pk=pk, enrollment__user=user).first()


@dataclass
class ExamOverview:
    enrollment: object
    access: ExamAccess
    template: ExamTemplate | None
    attempts: list[Attempt]
    allowed: int = 0
    open_attempt: Attempt | None = None
    passed_attempt: Attempt | None = None
    time_limit_minutes: int = 0
    question_count: int = 0
    total_points: Decimal = Decimal("0")
    pass_mark: Decimal = Decimal("0")
    problems: list[str] = field(default_factory=list)

    @property
    def used(self) -> int:
        return len([a for a in self.attempts if a.status == AttemptStatus.SUBMITTED])

    @property
    def remaining(self) -> int:
        return max(0, self.allowed - len(self.attempts))

    @property
    def can_start(self) -> bool:
        return bool(
            self.access
            and self.template
            and not self.open_attempt
            and not self.passed_attempt
            and self.remaining > 0
        )


def exam_overview(enrollment, *, now: datetime | None = None) -> ExamOverview:
    now = now or timezone.now()
    template = template_for_enrollment(enrollment)
    attempts = attempts_for_enrollment(enrollment)
    overview = ExamOverview(
        enrollment=enrollment, access=exam_access(enrollment, now=now), template=template, attempts=attempts
    )
    overview.open_attempt = next((a for a in attempts if a.status == AttemptStatus.IN_PROGRESS), None)
    overview.passed_attempt = next((a for a in attempts if a.passed), None)
    if template is not None:
        rules = list(template.rules.all())
        overview.allowed = 1 + template_resits(template, enrollment.programme)
        overview.time_limit_minutes = template.time_limit_minutes
        overview.question_count = sum(rule.count for rule in rules)
        overview.total_points = template_total_points(rules)
        overview.pass_mark = template_pass_mark(template, enrollment.programme, overview.total_points)
    return overview


def attempts_remaining(attempt: Attempt, *, attempts: list[Attempt] | None = None) -> int:
    """Attempts still allowed in the enrollment of ``attempt`` (after it); ``attempts``: all the
    enrollment's attempts if already loaded (else counted here)."""
    allowed = 1 + template_resits(attempt.template, attempt.enrollment.programme)
    used = (
        len(attempts)
        if attempts is not None
        else Attempt.objects.filter(enrollment_id=attempt.enrollment_id).count()
    )
    return max(0, allowed - used)


def attempts_training_record(enrollments) -> dict[int, list[dict]]:
    """Each exam attempt as a line of learning's training record (培训档案), for many enrollments in
    one query: registered in ``learning.selectors.records.TRAINING_RECORD_SECTIONS`` (exams.apps)."""
    lines: dict[int, list[dict]] = {}
    attempts = (
        Attempt.objects.filter(enrollment__in=[enrollment.pk for enrollment in enrollments])
        .select_related("template")
        .order_by("enrollment_id", "number")
    )
    for attempt in attempts:
        detail = [_("attempt %(number)s") % {"number": attempt.number}]
        if attempt.status == AttemptStatus.IN_PROGRESS:
            detail.append(attempt.get_status_display())
        else:
            detail += [
                _("%(mark)s of %(total)s points")
                % {"mark": points_text(attempt.score or 0), "total": points_text(attempt.total_points)},
                f"{_('Pass mark')} {points_text(attempt.pass_mark)}",
                _("Passed") if attempt.passed else _("Failed"),
            ]
        lines.setdefault(attempt.enrollment_id, []).append(
            {
                "when": attempt.started_at,
                "until": attempt.submitted_at,
                "kind": _("Exam"),
                "item": attempt.template.name,
                "detail": " · ".join(str(part) for part in detail),
                "minutes": None,
                "credited": None,
            }
        )
    return lines


# ---------------------------------------------------------------------------------------------
# Practice


def practice_pool(certificate_type: str) -> QuerySet[Question]:
    return Question.objects.filter(certificate_q(certificate_type), is_active=True)


def practice_next(*, enrollment, mode: str, after: int | None = None) -> Question | None:
    """The next practice question: ``sequential`` (by code after ``after``), ``wrong`` (the
    wrong-answer book) or ``random``."""
    pool = practice_pool(enrollment.trainee.certificate_type)
    if mode == "wrong":
        book = pool.filter(
            pk__in=PracticeItem.objects.filter(enrollment=enrollment, in_wrong_book=True).values(
                "question_id"
            )
        ).order_by("code")
        if after:
            nxt = book.filter(code__gt=Question.objects.filter(pk=after).values("code")[:1]).first()
            return nxt or book.first()
        return book.first()
    if mode == "sequential":
        if after:
            nxt = (
                pool.filter(code__gt=Question.objects.filter(pk=after).values("code")[:1])
                .order_by("code")
                .first()
            )
            if nxt:
                return nxt
        return pool.order_by("code").first()
    return pool.order_by("?").first()


def practice_summary(enrollment) -> dict:
    data = PracticeItem.objects.filter(enrollment=enrollment).aggregate(
        answered=Count("pk"),
        wrong_book=Count("pk", filter=Q(in_wrong_book=True)),
    )
    data["pool"] = practice_pool(enrollment.trainee.certificate_type).count()
    return data


# ---------------------------------------------------------------------------------------------
# Staff statistics (each a single aggregate query)


def programme_pass_rates() -> list[dict]:
    """Per programme: trainees who sat, attempts, trainees passed, average score."""
    rows = (
        Attempt.objects.filter(status=AttemptStatus.SUBMITTED)
        .values("enrollment__programme_id", "enrollment__programme__name")
        .annotate(
            attempts=Count("pk"),
            trainees=Count("enrollment_id", distinct=True),
            passed=Count("enrollment_id", filter=Q(passed=True), distinct=True),
            average=Avg("score"),
            best=Max("score"),
        )
        .order_by("-enrollment__programme_id")
    )
    result = []
    for row in rows:
        row["rate"] = round(100 * row["passed"] / row["trainees"], 1) if row["trainees"] else 0
        result.append(row)
    return result


def question_miss_stats(*, limit: int = 50) -> list[dict]:
    """The questions most often missed in submitted papers."""
    return list(
        AttemptQuestion.objects.filter(attempt__status=AttemptStatus.SUBMITTED)
        .values("question_id", "question__code", "question__stem", "question__qtype", "question__topic")
        .annotate(
            asked=Count("pk"),
            missed=Count("pk", filter=Q(is_correct=False)),
        )
        .annotate(miss_rate=Cast(F("missed"), FloatField()) * 100 / Cast(F("asked"), FloatField()))
        .order_by("-miss_rate", "-missed", "question__code")[:limit]
    )


def pipeline_exam_step(enrollment, step):
    """The exam step of learning's pipeline view: links to the exam page and practice (no query)."""
    if step.state != "blocked":
        step.extra = {**step.extra, "template": "exams/_pipeline_exam.html", "enrollment_id": enrollment.pk}
    return step
