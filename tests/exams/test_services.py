import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exams import selectors, services
from exams.models import (
    Attempt,
    AttemptQuestion,
    AttemptStatus,
    PracticeItem,
    Question,
    QuestionType,
    SubmitReason,
)
from learning.models import Enrollment, EnrollmentStatus
from learning.services.windows import enrollments_expire
from portal.models import AuditEntry
from tests.factories import (
    EnrollmentFactory,
    QuestionFactory,
    RuleFactory,
    bank_make,
    studied_enrollment_make,
    template_make,
)

from .helpers import answers_scoring, passed_entries, right_answers

pytestmark = pytest.mark.django_db


def graded_entries(attempt) -> int:
    return AuditEntry.objects.filter(action="exams.attempt_graded", target_id=str(attempt.pk)).count()


# --- papers -----------------------------------------------------------------------------------


def test_paper_follows_the_template(template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    items = list(attempt.items.select_related("question").order_by("position"))
    assert [i.qtype for i in items] == ["single"] * 5 + ["multiple"] * 2 + ["true_false"] * 4
    assert [i.position for i in items] == list(range(1, 12))
    assert len({i.question_id for i in items}) == 11
    assert attempt.total_points == Decimal("100")
    assert attempt.pass_mark == Decimal("80")  # the programme's default, 80 of 100
    assert attempt.question_count == 11
    assert attempt.deadline == attempt.started_at + timedelta(minutes=60)
    for item in items:
        # The options are a permutation of the bank's, and the stored answer points at the same texts.
        assert sorted(item.options) == sorted(item.question.options)
        assert sorted(item.options[i] for i in item.correct) == sorted(
            item.question.options[i] for i in item.question.answer
        )
        assert item.stem == item.question.stem
        assert item.answer is None
    tf = [i for i in items if i.qtype == QuestionType.TRUE_FALSE]
    assert all(i.options == ["正确", "错误"] for i in tf)


def test_each_attempt_draws_its_own_random_paper(db):
    bank_make(single=40)
    template = template_make()
    papers = []
    for seed in (1, 2):
        enrollment = studied_enrollment_make()
        attempt = services.attempt_start(enrollment=enrollment, rng=random.Random(seed))
        papers.append(list(attempt.items.order_by("position").values_list("question_id", "options")))
    assert papers[0] != papers[1]
    assert template.rules.count() == 3


def test_topic_rules_are_honoured(db, enrollment):
    bank_make(single=10, multiple=2, true_false=4, topic="fire")
    QuestionFactory.create_batch(3, qtype=QuestionType.SINGLE, topic="law")
    template = template_make()
    RuleFactory(template=template, qtype=QuestionType.SINGLE, topic="law", count=3, points=Decimal("1"))
    attempt = services.attempt_start(enrollment=enrollment)
    topics = list(attempt.items.filter(qtype="single").values_list("question__topic", flat=True))
    assert topics.count("law") == 3 and len(topics) == 8


def test_paper_only_uses_active_questions_of_the_certificate_type(db, enrollment):
    bank_make()
    QuestionFactory.create_batch(10, for_principal=False, for_safety_manager=True)
    QuestionFactory.create_batch(10, is_active=False)
    template_make()
    attempt = services.attempt_start(enrollment=enrollment)
    questions = Question.objects.filter(pk__in=attempt.items.values("question_id"))
    assert all(q.for_principal and q.is_active for q in questions)


def test_bank_too_small_is_refused_and_reported(db, enrollment):
    bank_make(multiple=1)
    template = template_make()
    problems = selectors.template_shortfalls(list(template.rules.all()), selectors.bank_pool("principal"))
    assert len(problems) == 1 and "2" in problems[0] and "1" in problems[0]
    with pytest.raises(ValidationError):
        services.attempt_start(enrollment=enrollment)
    assert not Attempt.objects.exists()


def test_programme_template_wins_and_template_pass_mark_and_resits(bank, enrollment):
    template_make()
    own = template_make(programme=enrollment.programme, pass_mark=Decimal("60"), resits=0)
    attempt = services.attempt_start(enrollment=enrollment)
    assert attempt.template == own
    assert attempt.pass_mark == Decimal("60")
    assert selectors.exam_overview(enrollment).allowed == 1


# --- autosave and resume --------------------------------------------------------------------


def test_answers_are_saved_and_resumed(template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    user = enrollment.user
    services.attempt_answer_save(attempt_id=attempt.pk, user=user, position=1, choices=[2])
    services.attempt_answer_save(attempt_id=attempt.pk, user=user, position=1, choices=[2])  # idempotent
    services.attempt_answer_save(attempt_id=attempt.pk, user=user, position=6, choices=[3, 0])
    assert AttemptQuestion.objects.get(attempt=attempt, position=1).answer == [2]
    assert AttemptQuestion.objects.get(attempt=attempt, position=6).answer == [0, 3]
    # Starting again (another device, a reload) resumes the same attempt.
    assert services.attempt_start(enrollment=enrollment) == attempt
    assert Attempt.objects.count() == 1
    # Clearing an answer makes it unanswered again.
    services.attempt_answer_save(attempt_id=attempt.pk, user=user, position=6, choices=[])
    assert AttemptQuestion.objects.get(attempt=attempt, position=6).answer is None


@pytest.mark.parametrize(("position", "choices"), [(1, [0, 1]), (1, [9]), (1, ["x"]), (99, [0]), (8, [2])])
def test_bad_answers_are_refused(template, enrollment, position, choices):
    attempt = services.attempt_start(enrollment=enrollment)
    with pytest.raises(ValidationError):
        services.attempt_answer_save(
            attempt_id=attempt.pk, user=enrollment.user, position=position, choices=choices
        )


def test_someone_elses_attempt_cannot_be_answered(template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    other = EnrollmentFactory()
    with pytest.raises(Attempt.DoesNotExist):
        services.attempt_answer_save(attempt_id=attempt.pk, user=other.user, position=1, choices=[0])


# --- submitting -------------------------------------------------------------------------------


def test_submit_refused_while_questions_are_unanswered(template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    answers = answers_scoring(attempt)
    for position in (3, 7):
        answers.pop(position)
    with pytest.raises(services.UnansweredQuestions) as exc:
        services.attempt_submit(attempt_id=attempt.pk, user=enrollment.user, answers=answers)
    assert exc.value.positions == [3, 7]
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.IN_PROGRESS and attempt.score is None
    # The answers sent with the refused submit were kept.
    assert AttemptQuestion.objects.filter(attempt=attempt, answer__isnull=False).count() == 9


def test_pass_grades_and_moves_the_enrollment(template, enrollment, django_capture_on_commit_callbacks):
    from exams.signals import exam_passed

    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    exam_passed.connect(receiver)
    try:
        attempt = services.attempt_start(enrollment=enrollment)
        with django_capture_on_commit_callbacks(execute=True):
            attempt = services.attempt_submit(
                attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=1)
            )
    finally:
        exam_passed.disconnect(receiver)
    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.submit_reason == SubmitReason.TRAINEE
    assert attempt.score == Decimal("90") and attempt.passed is True and attempt.correct_count == 10
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.passed_at) == (EnrollmentStatus.PASSED, attempt.submitted_at)
    assert enrollment.status_changed_at >= attempt.submitted_at
    assert passed_entries(enrollment) == 1
    assert received == [{"signal": exam_passed, "enrollment_id": enrollment.pk, "attempt_id": attempt.pk}]
    assert AttemptQuestion.objects.filter(attempt=attempt, is_correct=False).count() == 1


def test_double_submit_is_graded_once(template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    answers = answers_scoring(attempt)
    first = services.attempt_submit(attempt_id=attempt.pk, user=enrollment.user, answers=answers)
    second = services.attempt_submit(attempt_id=attempt.pk, user=enrollment.user, answers={1: [0]})
    assert first.score == second.score == Decimal("100")
    assert graded_entries(attempt) == 1
    assert passed_entries(enrollment) == 1
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.passed_at) == (EnrollmentStatus.PASSED, first.submitted_at)
    assert AttemptQuestion.objects.get(attempt=attempt, position=1).answer == answers[1]


def test_fail_then_resit_then_pass(template, enrollment):
    first = services.attempt_start(enrollment=enrollment)
    first = services.attempt_submit(
        attempt_id=first.pk, user=enrollment.user, answers=answers_scoring(first, wrong=3)
    )
    assert first.score == Decimal("70") and first.passed is False
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.passed_at, passed_entries(enrollment)) == (
        EnrollmentStatus.ACTIVE,
        None,
        0,
    )
    assert selectors.attempts_remaining(first) == 2
    second = services.attempt_start(enrollment=enrollment)
    assert second.number == 2 and second.pk != first.pk
    second = services.attempt_submit(
        attempt_id=second.pk, user=enrollment.user, answers=answers_scoring(second)
    )
    assert second.passed is True
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.passed_at) == (EnrollmentStatus.PASSED, second.submitted_at)
    assert passed_entries(enrollment) == 1
    with pytest.raises(ValidationError) as refused:
        services.attempt_start(enrollment=enrollment)
    assert refused.value.messages == ["您已通过本次培训考核。"]


def test_resits_exhausted(template, enrollment):
    enrollment.programme.exam_resits = 1
    enrollment.programme.save()
    for number in (1, 2):
        attempt = services.attempt_start(enrollment=enrollment)
        assert attempt.number == number
        services.attempt_submit(
            attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=5)
        )
    with pytest.raises(ValidationError) as exc:
        services.attempt_start(enrollment=enrollment)
    assert "已用完" in " ".join(exc.value.messages)
    overview = selectors.exam_overview(enrollment)
    assert overview.remaining == 0 and not overview.can_start


def test_exam_blocked_before_unlock(template):
    """Learning's rule: one of the plan's two lessons done, the exam stays locked."""
    studying = studied_enrollment_make(lessons_done=1)
    access = selectors.exam_access(studying)
    locked = "完成全部必修课程并达到规定学时后解锁考试。"
    assert (access.allowed, access.reason) == (False, locked)
    with pytest.raises(ValidationError) as refused:
        services.attempt_start(enrollment=studying)
    assert refused.value.messages == [locked]
    assert not Attempt.objects.exists()


def test_exam_blocked_after_the_window(template, enrollment):
    enrollment.deadline = timezone.now() - timedelta(minutes=1)
    enrollment.save()
    with pytest.raises(ValidationError):
        services.attempt_start(enrollment=enrollment)
    enrollment.status = EnrollmentStatus.EXPIRED
    enrollment.save()
    assert not selectors.exam_access(enrollment)


# --- the server's timer ------------------------------------------------------------------------


def test_time_out_grades_saved_answers(template, enrollment):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        attempt = services.attempt_start(enrollment=enrollment)
        right = right_answers(attempt)
        for position in range(1, 10):  # 9 of 11 answered, all right: 5×10 + 2×15 + 2×5 = 90
            services.attempt_answer_save(
                attempt_id=attempt.pk, user=enrollment.user, position=position, choices=right[position]
            )
        traveller.shift(timedelta(minutes=59))
        assert services.attempts_expire() == 0
        traveller.shift(timedelta(minutes=1, seconds=1))
        saved = services.attempt_answer_save(
            attempt_id=attempt.pk, user=enrollment.user, position=10, choices=right[10]
        )
        assert saved.expired
        attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.submit_reason == SubmitReason.TIMEOUT
    assert attempt.score == Decimal("90") and attempt.passed
    assert AttemptQuestion.objects.get(attempt=attempt, position=10).answer is None
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.passed_at) == (EnrollmentStatus.PASSED, attempt.submitted_at)
    assert passed_entries(enrollment) == 1


def test_a_pass_after_the_enrollment_was_voided_stays_a_pass_and_is_logged(template, enrollment):
    """An exam started in the last half hour of the study window; the expiry job voids the
    enrollment meanwhile. The attempt is graded and stays passed, learning refuses to mark the void
    enrollment passed, and the audit log says why."""
    with time_machine.travel(enrollment.deadline - timedelta(minutes=30), tick=False) as traveller:
        attempt = services.attempt_start(enrollment=enrollment)
        traveller.shift(timedelta(minutes=31))
        assert enrollments_expire() == 1
        attempt = services.attempt_submit(
            attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt)
        )
    assert (attempt.status, attempt.passed) == (AttemptStatus.SUBMITTED, True)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.passed_at, passed_entries(enrollment)) == (
        EnrollmentStatus.EXPIRED,
        None,
        0,
    )
    entry = AuditEntry.objects.get(action="exams.enrollment_not_marked_passed")
    assert (entry.target_id, entry.reason) == (str(attempt.pk), "只有有效的学习账号才能标记为合格。")


def test_attempts_expire_grades_in_batches(db):
    bank_make()
    template_make()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        attempts = [services.attempt_start(enrollment=studied_enrollment_make()) for _ in range(5)]
        services.attempt_answer_save(
            attempt_id=attempts[0].pk,
            user=attempts[0].enrollment.user,
            position=1,
            choices=right_answers(attempts[0])[1],
        )
        traveller.shift(timedelta(minutes=61))
        assert services.attempts_expire(batch_size=2) == 5
        assert services.attempts_expire(batch_size=2) == 0
    assert set(Attempt.objects.values_list("status", flat=True)) == {AttemptStatus.SUBMITTED}
    assert Attempt.objects.get(pk=attempts[0].pk).score == Decimal("10")
    assert AuditEntry.objects.filter(action="exams.attempt_graded").count() == 5
    statuses = {attempt.enrollment.pk: EnrollmentStatus.ACTIVE for attempt in attempts}
    assert dict(Enrollment.objects.values_list("pk", "status")) == statuses
    assert not AuditEntry.objects.filter(action="enrollment.passed").exists()


def test_submit_after_the_deadline_grades_without_the_late_answers(template, enrollment):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        attempt = services.attempt_start(enrollment=enrollment)
        traveller.shift(timedelta(minutes=61))
        attempt = services.attempt_submit(
            attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt)
        )
    assert attempt.submit_reason == SubmitReason.TIMEOUT and attempt.score == 0 and not attempt.passed


def test_submitting_a_100_question_paper_takes_constant_queries(
    db, enrollment, django_assert_max_num_queries
):
    bank_make(single=70, multiple=20, true_false=20)
    template = template_make()
    template.rules.all().delete()
    RuleFactory(template=template, qtype="single", count=60, points=Decimal("1"))
    RuleFactory(template=template, qtype="multiple", count=20, points=Decimal("1.5"))
    RuleFactory(template=template, qtype="true_false", count=10, points=Decimal("1"))
    RuleFactory(template=template, qtype="single", topic="law", count=10, points=Decimal("1"))
    attempt = services.attempt_start(enrollment=enrollment)
    assert attempt.question_count == 100 and attempt.total_points == Decimal("110")
    answers = answers_scoring(attempt, wrong=4)
    # Whatever the paper's size: the answers, the grading and its audit entry, then learning marking
    # the enrollment passed (the enrollment read and locked, updated, audited, with its savepoints).
    with django_assert_max_num_queries(19):
        attempt = services.attempt_submit(attempt_id=attempt.pk, user=enrollment.user, answers=answers)
    assert attempt.correct_count == 96


# --- practice ---------------------------------------------------------------------------------


def test_practice_wrong_answer_book(bank, enrollment):
    question = Question.objects.filter(qtype="single").first()
    wrong = [i for i in range(4) if i not in question.answer][:1]
    result = services.practice_answer(enrollment=enrollment, question=question, choices=wrong)
    assert not result.correct
    assert selectors.practice_next(enrollment=enrollment, mode="wrong") == question
    result = services.practice_answer(enrollment=enrollment, question=question, choices=question.answer)
    assert result.correct
    item = PracticeItem.objects.get(enrollment=enrollment, question=question)
    assert (item.times_answered, item.times_wrong, item.in_wrong_book) == (2, 1, False)
    assert selectors.practice_next(enrollment=enrollment, mode="wrong") is None
    assert not Attempt.objects.exists()


def test_practice_sequential_walks_the_bank_of_the_certificate_type(db, enrollment):
    bank_make(single=3, multiple=0, true_false=0)
    QuestionFactory(for_principal=False, for_safety_manager=True)
    codes = []
    after = None
    for _ in range(4):
        question = selectors.practice_next(enrollment=enrollment, mode="sequential", after=after)
        codes.append(question.code)
        after = question.pk
    assert codes[:3] == sorted(Question.objects.filter(for_principal=True).values_list("code", flat=True))
    assert codes[3] == codes[0]  # wraps around


def test_an_exam_running_closes_practice_until_submitted_or_timed_out(template, enrollment):
    """Practice of every enrollment of the account, and the review of earlier answers, are closed
    while an attempt runs; the rule reopens at the deadline (the paper cannot change after it)."""
    other = EnrollmentFactory(user=enrollment.user, trainee__certificate_type="principal")
    question = Question.objects.filter(qtype="single").first()
    assert selectors.practice_access(enrollment) and selectors.answers_access(user_id=enrollment.user_id)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        attempt = services.attempt_start(enrollment=enrollment)
        for closed in (
            selectors.practice_access(enrollment),
            selectors.practice_access(other),
            selectors.answers_access(user_id=enrollment.user_id),
        ):
            assert (closed.allowed, closed.attempt) == (False, attempt)
            assert closed.reason == (
                "您有一场正在进行的考试。交卷或考试时间结束后，练习和以往试卷的错题回顾才会重新开放。"
            )
        for target in (enrollment, other):
            with pytest.raises(services.PracticeClosed) as refused:
                services.practice_answer(enrollment=target, question=question, choices=question.answer)
            assert refused.value.access.attempt == attempt
        assert not PracticeItem.objects.exists()
        assert selectors.answers_access(user_id=EnrollmentFactory().user_id)  # someone else's exam
        traveller.shift(timedelta(minutes=59, seconds=59))
        assert not selectors.practice_access(enrollment)
        traveller.shift(timedelta(seconds=1))  # the deadline: open again, even before grading
        assert selectors.practice_access(enrollment) and selectors.practice_access(other)
        assert services.practice_answer(enrollment=other, question=question, choices=question.answer).correct


def test_practice_answer_checks_again_under_the_lock(template, enrollment):
    """The race guard: the view found practice open, then an attempt started (another tab) before
    the answer was checked. The service locks the account's enrollment rows (as attempt_start
    locks the one it starts), checks again and refuses; nothing is recorded."""
    question = Question.objects.filter(qtype="single").first()
    assert selectors.practice_access(enrollment)  # the view's check, before the attempt
    attempt = services.attempt_start(enrollment=enrollment)
    with CaptureQueriesContext(connection) as queries, pytest.raises(services.PracticeClosed) as refused:
        services.practice_answer(enrollment=enrollment, question=question, choices=question.answer)
    assert refused.value.access.attempt == attempt
    assert not PracticeItem.objects.exists()
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert 'FROM "learning_enrollment"' in selects[0] and 'FROM "exams_attempt"' in selects[1]
    if connection.features.has_select_for_update:
        assert selects[0].endswith("FOR UPDATE")


# --- concurrency (PostgreSQL) -----------------------------------------------------------------


@pytest.mark.services("postgres")
@pytest.mark.django_db(transaction=True)
def test_practice_answer_waits_for_an_attempt_starting_then_is_refused(monkeypatch):
    """A practice answer sent while attempt_start holds the enrollment (drawing the paper) waits
    for it, then sees the attempt and is refused: no answer recorded or shown."""
    bank_make()
    template_make()
    enrollment = studied_enrollment_make(
        trainee__certificate_type="principal", trainee__training_category="initial"
    )
    question = Question.objects.filter(qtype="single").first()
    drawing, release = threading.Event(), threading.Event()
    paper_draw = services.paper_draw

    def slow_draw(**kwargs):
        drawing.set()  # attempt_start holds the enrollment's row lock from here to its commit
        release.wait(timeout=10)
        return paper_draw(**kwargs)

    monkeypatch.setattr(services, "paper_draw", slow_draw)
    outcome = {}

    def start():
        try:
            outcome["attempt"] = services.attempt_start(enrollment=enrollment)
        except Exception as exc:  # noqa: BLE001 -- reported below
            outcome["error"] = exc
        finally:
            connection.close()

    def practise():
        try:
            outcome["result"] = services.practice_answer(
                enrollment=enrollment, question=question, choices=question.answer
            )
        except services.PracticeClosed as exc:
            outcome["refused"] = exc
        except Exception as exc:  # noqa: BLE001 -- reported below
            outcome["error"] = exc
        finally:
            connection.close()

    starter = threading.Thread(target=start)
    starter.start()
    assert drawing.wait(timeout=10)
    practiser = threading.Thread(target=practise)
    practiser.start()
    practiser.join(timeout=1)
    assert practiser.is_alive()  # waiting for the lock
    release.set()
    starter.join(timeout=30)
    practiser.join(timeout=30)
    assert set(outcome) == {"attempt", "refused"}
    assert outcome["refused"].access.attempt == outcome["attempt"]
    assert not PracticeItem.objects.exists()


@pytest.mark.services("postgres")
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_are_graded_once():
    bank_make()
    template_make()
    enrollment = studied_enrollment_make()
    attempt = services.attempt_start(enrollment=enrollment)
    answers = answers_scoring(attempt)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=10)
            results.append(
                services.attempt_submit(attempt_id=attempt.pk, user=enrollment.user, answers=answers)
            )
        except Exception as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 2 and {r.score for r in results} == {Decimal("100")}
    assert graded_entries(attempt) == 1
    assert passed_entries(enrollment) == 1
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.PASSED
