"""Services of the exams app: drawing papers, saving answers, submitting and grading, practice.

Practice is closed while the trainee has an exam running (the rule and why: ``exams.selectors``);
:func:`practice_answer` checks it again under the lock :func:`attempt_start` takes.
"""

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.models import User
from portal.services import audit_record, audit_record_many

from . import selectors
from .models import (
    TYPE_ORDER,
    Attempt,
    AttemptQuestion,
    AttemptStatus,
    ExamTemplate,
    PracticeItem,
    Question,
    QuestionType,
    SubmitReason,
)
from .signals import exam_passed

logger = logging.getLogger(__name__)

_system_random = secrets.SystemRandom()


class UnansweredQuestions(ValidationError):
    """Submit refused: ``positions`` are the numbers still unanswered."""

    def __init__(self, positions: list[int]):
        self.positions = positions
        super().__init__(
            ngettext(
                "Question %(numbers)s is not answered yet. Answer every question before submitting.",
                "Questions %(numbers)s are not answered yet. Answer every question before submitting.",
                len(positions),
            )
            % {"numbers": ", ".join(str(p) for p in positions)},
            code="unanswered",
        )


# ---------------------------------------------------------------------------------------------
# Papers


def paper_draw(
    *, template: ExamTemplate, certificate_type: str, rng: random.Random | None = None
) -> list[dict]:
    """Draw a paper by the template's rules: random questions, random order within each type
    section, random option order (true/false keeps 正确/错误). Raises ``ValidationError`` if the bank
    cannot fill it. Two queries."""
    rng = rng or _system_random
    rules = selectors.rules_in_draw_order(template.rules.all())
    if not rules:
        raise ValidationError(_("The exam template has no rules."))
    pool = selectors.bank_pool(certificate_type)
    problems = selectors.template_shortfalls(rules, pool)
    if problems:
        raise ValidationError(
            _("The question bank cannot fill this exam paper: %(problems)s")
            % {"problems": " ".join(problems)}
        )
    chosen: set[int] = set()
    picks: dict[str, list[tuple[int, Decimal]]] = {t: [] for t in TYPE_ORDER}
    for rule in rules:
        candidates = [
            q["id"]
            for q in pool
            if q["qtype"] == rule.qtype
            and (not rule.topic or q["topic"] == rule.topic)
            and q["id"] not in chosen
        ]
        for qid in rng.sample(candidates, rule.count):
            chosen.add(qid)
            picks[rule.qtype].append((qid, rule.points))
    questions = {
        q["id"]: q
        for q in Question.objects.filter(pk__in=chosen).values(
            "id", "qtype", "stem", "options", "answer", "explanation"
        )
    }
    paper = []
    for qtype in TYPE_ORDER:
        section = picks[qtype]
        rng.shuffle(section)
        for qid, points in section:
            question = questions[qid]
            order = list(range(len(question["options"])))
            if question["qtype"] != QuestionType.TRUE_FALSE:
                rng.shuffle(order)
            paper.append(
                {
                    "question_id": qid,
                    "qtype": question["qtype"],
                    "stem": question["stem"],
                    "options": [question["options"][i] for i in order],
                    "correct": sorted(order.index(i) for i in question["answer"]),
                    "explanation": question["explanation"],
                    "points": points,
                }
            )
    return paper


def attempt_start(*, enrollment, actor: User | None = None, now: datetime | None = None, rng=None) -> Attempt:
    """Start the next attempt of ``enrollment`` (or return the one in progress). Raises
    ``ValidationError`` with the reason when the exam is locked, passed or out of attempts.

    The enrollment row stays locked until the attempt is committed: :func:`practice_answer` takes
    the same lock, so no practice answer is recorded (or shown) once the paper exists."""
    from learning.models import Enrollment

    now = now or timezone.now()
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("trainee", "programme")
            .get(pk=enrollment.pk)
        )
        attempts = list(Attempt.objects.filter(enrollment=enrollment))
        open_attempt = next((a for a in attempts if a.status == AttemptStatus.IN_PROGRESS), None)
        if open_attempt is not None:
            if open_attempt.deadline > now:
                return open_attempt
            _grade_locked([open_attempt], now=now, reason=SubmitReason.TIMEOUT, actor=None)
            if open_attempt.passed:
                return open_attempt
            enrollment.refresh_from_db(fields=["status"])
        access = selectors.exam_access(enrollment, now=now)
        if not access:
            raise ValidationError(access.reason)
        if any(a.passed for a in attempts):
            raise ValidationError(_("You have already passed this exam."))
        template = selectors.template_for_enrollment(enrollment)
        if template is None:
            raise ValidationError(
                _("No exam paper is set up for your certificate type yet. Please contact the association.")
            )
        used = len(attempts)
        allowed = 1 + selectors.template_resits(template, enrollment.programme)
        if used >= allowed:
            raise ValidationError(_("You have used all your exam attempts."))
        paper = paper_draw(template=template, certificate_type=enrollment.trainee.certificate_type, rng=rng)
        total = sum((item["points"] for item in paper), Decimal("0"))
        attempt = Attempt.objects.create(
            enrollment=enrollment,
            template=template,
            number=used + 1,
            started_at=now,
            deadline=now + timedelta(minutes=template.time_limit_minutes),
            question_count=len(paper),
            total_points=total,
            pass_mark=selectors.template_pass_mark(template, enrollment.programme, total),
        )
        _paper_write(attempt, paper)
        audit_record(
            actor=actor,
            action="exams.attempt_started",
            target=attempt,
            new={"enrollment": enrollment.pk, "number": attempt.number, "questions": len(paper)},
        )
    return attempt


def _paper_write(attempt: Attempt, paper: list[dict]) -> None:
    """Insert the drawn paper of ``attempt`` (a 90-question paper in one or two multi-row INSERTs,
    without building a model instance per row as ``bulk_create`` does)."""
    meta = AttemptQuestion._meta
    qn = connection.ops.quote_name
    names = [
        "attempt",
        "position",
        "question",
        "qtype",
        "stem",
        "options",
        "correct",
        "explanation",
        "points",
    ]
    fields = [meta.get_field(name) for name in names]
    options, correct, points = (meta.get_field(name) for name in ("options", "correct", "points"))
    rows = [
        (
            attempt.pk,
            position,
            item["question_id"],
            item["qtype"],
            item["stem"],
            options.get_db_prep_save(item["options"], connection),
            correct.get_db_prep_save(item["correct"], connection),
            item["explanation"],
            points.get_db_prep_save(item["points"], connection),
        )
        for position, item in enumerate(paper, start=1)
    ]
    # Only our own table and column names are interpolated.
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) VALUES "  # noqa: S608
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, (connection.features.max_query_params or 999) // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(head + ", ".join([row_sql] * len(chunk)), [v for row in chunk for v in row])


def _choices_clean(*, qtype: str, option_count: int, choices) -> list[int] | None:
    """Validate chosen option indexes for a question of ``qtype`` with ``option_count`` options;
    ``None`` = no answer."""
    try:
        values = sorted({int(c) for c in (choices or [])})
    except (TypeError, ValueError):
        raise ValidationError(_("The answer is not valid.")) from None
    if not values:
        return None
    if any(v < 0 or v >= option_count for v in values):
        raise ValidationError(_("The answer is not valid."))
    if qtype != QuestionType.MULTIPLE and len(values) != 1:
        raise ValidationError(_("Choose exactly one option."))
    return values


def _clean_choices(item, choices) -> list[int] | None:
    """Validate the chosen option indexes for ``item`` (anything with ``qtype`` and ``options``: a
    question, a paper question); ``None`` = no answer."""
    return _choices_clean(qtype=item.qtype, option_count=len(item.options), choices=choices)


@dataclass
class AnswerSaved:
    attempt_id: int
    expired: bool
    remaining_seconds: int = 0


def attempt_answer_save(
    *, attempt_id: int, user: User, position: int, choices, now: datetime | None = None
) -> AnswerSaved:
    """Save one answer (idempotent: saving the same answer twice changes nothing). Two queries in
    the usual case: the attempt (locked, checked to be the user's) with the question's type and
    options, and the update. If the time is up the attempt is graded instead and ``expired`` is
    returned. Raises ``Attempt.DoesNotExist`` for someone else's attempt, ``ValidationError`` for
    an answer that does not fit the question."""
    now = now or timezone.now()
    with transaction.atomic():
        found = list(
            Attempt.objects.select_for_update(of=("self",))
            .filter(pk=attempt_id, enrollment__user=user, items__position=position)
            .values_list("status", "deadline", "items__pk", "items__qtype", "items__options")
            .order_by()[:1]
        )
        if not found:
            attempt = Attempt.objects.filter(pk=attempt_id, enrollment__user=user).first()
            if attempt is None:
                raise Attempt.DoesNotExist
            if attempt.status != AttemptStatus.IN_PROGRESS:
                return AnswerSaved(attempt.pk, True)
            raise ValidationError(_("There is no question %(number)s in this paper.") % {"number": position})
        status, deadline, item_id, qtype, options = found[0]
        if status != AttemptStatus.IN_PROGRESS:
            return AnswerSaved(attempt_id, True)
        if deadline <= now:
            _grade_locked(
                [Attempt.objects.get(pk=attempt_id)], now=now, reason=SubmitReason.TIMEOUT, actor=None
            )
            return AnswerSaved(attempt_id, True)
        values = _choices_clean(qtype=qtype, option_count=len(options), choices=choices)
        AttemptQuestion.objects.filter(pk=item_id).update(answer=values, answered_at=now if values else None)
    return AnswerSaved(attempt_id, False, max(0, int((deadline - now).total_seconds())))


def attempt_submit(
    *,
    attempt_id: int,
    user: User | None = None,
    answers: dict[int, list] | None = None,
    now: datetime | None = None,
    ip: str | None = None,
) -> Attempt:
    """Submit (确认交卷) and grade. Idempotent: an attempt already graded is returned as it is.
    Before the time is up every question must be answered (raises :class:`UnansweredQuestions`);
    after it the saved answers are graded. ``answers`` (position -> option indexes), sent with the
    form, are saved first. A constant number of queries whatever the paper's size."""
    now = now or timezone.now()
    with transaction.atomic():
        attempts = Attempt.objects.select_for_update(of=("self",)).filter(pk=attempt_id)
        if user is not None:
            attempts = attempts.filter(enrollment__user=user)
        attempt = attempts.first()
        if attempt is None:
            raise Attempt.DoesNotExist
        if attempt.status != AttemptStatus.IN_PROGRESS:
            return attempt
        if attempt.deadline <= now:
            _grade_locked([attempt], now=now, reason=SubmitReason.TIMEOUT, actor=None, ip=ip)
            return attempt
        items = [
            _PaperRow(*row)
            for row in AttemptQuestion.objects.filter(attempt=attempt).values_list(
                "pk", "attempt_id", "position", "qtype", "options", "correct", "answer", "points"
            )
        ]
        if answers:
            changed = []
            for item in items:
                if item.position in answers:
                    values = _clean_choices(item, answers[item.position])
                    if values is not None and values != item.answer:
                        item.answer = values
                        changed.append(item)
            _answers_write(changed, now=now)
        unanswered = sorted(item.position for item in items if not item.answer)
        if not unanswered:
            _grade_locked([attempt], now=now, reason=SubmitReason.TRAINEE, actor=user, ip=ip, rows=items)
    if unanswered:
        # Raised after the commit: the answers sent with the refused submit are kept.
        raise UnansweredQuestions(unanswered)
    return attempt


@dataclass
class _PaperRow:
    """One question of a paper as submitting and grading read it (no model instance needed)."""

    pk: int
    attempt_id: int
    position: int
    qtype: str
    options: list
    correct: list
    answer: list | None
    points: Decimal


def _answers_write(items: list[_PaperRow], *, now: datetime) -> None:
    """Write many answers in one ``executemany`` (``bulk_update`` builds a CASE per row)."""
    if not items:
        return
    meta = AttemptQuestion._meta
    qn = connection.ops.quote_name
    answer, answered_at = meta.get_field("answer"), meta.get_field("answered_at")
    # Only our own table and column names are interpolated.
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    sets = f"{qn(answer.column)} = %s, {qn(answered_at.column)} = %s"
    sql = f"UPDATE {table} SET {sets} WHERE {pk} = %s"  # noqa: S608
    at = answered_at.get_db_prep_save(now, connection)
    params = [(answer.get_db_prep_save(item.answer, connection), at, item.pk) for item in items]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def attempts_expire(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Grade every attempt whose time is up, in batches (a constant number of queries per batch;
    rows another process holds are skipped and picked up next time). Returns how many."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            batch = list(
                Attempt.objects.select_for_update(skip_locked=True)
                .filter(status=AttemptStatus.IN_PROGRESS, deadline__lte=now)
                .order_by("deadline", "pk")[:batch_size]
            )
            if not batch:
                return total
            _grade_locked(batch, now=now, reason=SubmitReason.TIMEOUT, actor=None)
        total += len(batch)
        if len(batch) < batch_size:
            return total


def _grade_locked(
    attempts: list[Attempt],
    *,
    now: datetime,
    reason: str,
    actor: User | None,
    ip: str | None = None,
    rows: list[_PaperRow] | None = None,
) -> None:
    """Grade ``attempts`` (locked, in progress) with their saved answers (``rows``: their questions
    as already read in this transaction, else read here). Set-based: the number of queries does not
    depend on the number of questions or attempts (except one call to learning per attempt passed)."""
    ids = [a.pk for a in attempts]
    if rows is None:
        rows = [
            _PaperRow(pk, attempt_id, 0, "", [], correct, answer, points)
            for pk, attempt_id, correct, answer, points in AttemptQuestion.objects.filter(
                attempt_id__in=ids
            ).values_list("pk", "attempt_id", "correct", "answer", "points")
        ]
    score: dict[int, Decimal] = {pk: Decimal("0") for pk in ids}
    correct_count: dict[int, int] = dict.fromkeys(ids, 0)
    right = []
    for row in rows:
        if row.answer and sorted(row.answer) == sorted(row.correct):
            right.append(row.pk)
            score[row.attempt_id] += Decimal(row.points)
            correct_count[row.attempt_id] += 1
    items = AttemptQuestion.objects.filter(attempt_id__in=ids)
    items.filter(pk__in=right).update(is_correct=True)
    items.exclude(pk__in=right).update(is_correct=False)
    for attempt in attempts:
        attempt.status = AttemptStatus.SUBMITTED
        attempt.submitted_at = now
        attempt.submit_reason = reason
        attempt.score = score[attempt.pk]
        attempt.correct_count = correct_count[attempt.pk]
        attempt.passed = attempt.score >= attempt.pass_mark
    graded = ["status", "submitted_at", "submit_reason", "score", "correct_count", "passed"]
    if len(attempts) == 1:  # the trainee's own submit: a plain UPDATE (no CASE per field)
        Attempt.objects.filter(pk=attempts[0].pk).update(**{f: getattr(attempts[0], f) for f in graded})
    else:
        Attempt.objects.bulk_update(attempts, graded)
    audit_record_many(
        actor=actor,
        action="exams.attempt_graded",
        targets=attempts,
        old=lambda attempt: {"status": AttemptStatus.IN_PROGRESS.value},
        new=lambda attempt: {
            "status": AttemptStatus.SUBMITTED.value,
            "reason": reason,
            "score": str(attempt.score),
            "pass_mark": str(attempt.pass_mark),
            "passed": attempt.passed,
        },
        ip=ip,
        created_at=now,
    )
    for attempt in attempts:
        if attempt.passed:
            _mark_enrollment_passed(attempt, now=now, actor=actor)


def _mark_enrollment_passed(attempt: Attempt, *, now: datetime, actor: User | None) -> None:
    from learning.services.passing import enrollment_mark_passed

    try:
        with transaction.atomic():
            enrollment_mark_passed(enrollment=attempt.enrollment, passed_at=now, actor=actor)
    except ValidationError as exc:
        # The attempt stays passed; staff see why the enrollment did not move in the log.
        logger.warning("Enrollment %s not marked passed: %s", attempt.enrollment_id, exc)
        audit_record(
            actor=None,
            action="exams.enrollment_not_marked_passed",
            target=attempt,
            reason="; ".join(exc.messages),
        )
        return
    enrollment_id, attempt_id = attempt.enrollment_id, attempt.pk
    transaction.on_commit(
        lambda: exam_passed.send(sender=Attempt, enrollment_id=enrollment_id, attempt_id=attempt_id)
    )


def attempt_pass_annul(*, attempt_id: int, reason: str, actor: User | None = None) -> bool:
    """Annul a passed attempt (issue #23: staff rejected the photo taken at its exam check): it counts
    as not passed (a used sitting; a resit is possible if attempts remain) and the enrollment is
    active again, audited with the reason. Runs in the caller's transaction; idempotent. Returns
    whether a pass was annulled."""
    from learning.services.passing import enrollment_pass_annul

    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("enrollment")
            .filter(pk=attempt_id)
            .first()
        )
        if attempt is None or not attempt.passed:
            return False
        attempt.passed = False
        attempt.save(update_fields=["passed"])
        audit_record(
            actor=actor,
            action="exams.attempt_annulled",
            target=attempt,
            old={"passed": True},
            new={"passed": False},
            reason=reason,
        )
        enrollment_pass_annul(enrollment=attempt.enrollment, reason=reason, actor=actor)
    return True


# ---------------------------------------------------------------------------------------------
# Practice


@dataclass
class PracticeResult:
    question: Question
    chosen: list[int]
    correct: bool


class PracticeClosed(PermissionDenied):
    """Practice refused: the study window is closed or an exam is running (``access`` says why and
    which attempt)."""

    def __init__(self, access: selectors.ExamAccess):
        self.access = access
        super().__init__(access.reason)


def practice_answer(
    *, enrollment, question: Question, choices, now: datetime | None = None
) -> PracticeResult:
    """Check a practice answer and update the wrong-answer book (never an exam attempt). Raises
    :class:`PracticeClosed` (nothing recorded) when practice is closed: checked here again with
    the user's enrollment rows locked, in primary-key order, as :func:`attempt_start` locks the one
    it starts, so an answer sent while an attempt starts (another tab) is either recorded before
    that paper is drawn or refused."""
    from learning.models import Enrollment

    now = now or timezone.now()
    with transaction.atomic():
        locked = list(
            Enrollment.objects.select_for_update()
            .filter(user_id=enrollment.user_id)
            .only("pk", "user_id", "status", "deadline")
            .order_by("pk")
        )
        current = next((row for row in locked if row.pk == enrollment.pk), None)
        if current is None:
            raise Enrollment.DoesNotExist
        access = selectors.practice_access(current, now=now)
        if not access:
            raise PracticeClosed(access)
        values = _clean_choices(question, choices)
        if values is None:
            raise ValidationError(_("Choose an answer first."))
        correct = values == sorted(question.answer)
        item, _created = PracticeItem.objects.select_for_update().get_or_create(
            enrollment=enrollment, question=question, defaults={"last_answered_at": now}
        )
        item.times_answered += 1
        item.last_answered_at = now
        if correct:
            item.in_wrong_book = False
        else:
            item.times_wrong += 1
            item.in_wrong_book = True
        item.save(update_fields=["times_answered", "times_wrong", "in_wrong_book", "last_answered_at"])
    return PracticeResult(question, values, correct)
