"""Exam integrity (issue #22, finding 1): no page shows a correct answer while an exam runs.

The attack: with an exam attempt in progress, a trainee walked the practice bank
(``?mode=sequential&after=<question>``), answered each question once to be shown 正确答案, and
submitted the paper at 100/100. Now practice is closed (every mode, GET and POST, also on the
trainee's other enrollments) and the review of earlier attempts is hidden while an attempt runs;
both reopen once the paper is submitted or its time is up.

Real state throughout: the exam unlocks by the learning rules (class hours recorded), a pass
moves the enrollment through learning's own service.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from certificates.models import Certificate
from exams.models import Attempt, AttemptQuestion, AttemptStatus, PracticeItem, Question
from learning.models import EnrollmentStatus
from learning.services.staff_hours import study_hours_record
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    StaffFactory,
    bank_make,
    plan_with,
    template_make,
)

pytestmark = pytest.mark.django_db

CLOSED = "您有一场正在进行的考试。交卷或考试时间结束后，练习和以往试卷的错题回顾才会重新开放。"
MODES = ("sequential", "random", "wrong")

LEGEND = re.compile(r'<legend class="fs-6 fw-semibold">(?:(\d+)\. )?(.*?) <span')
# The paper's options (form-check labels) and practice's full-width ones (the text in a span).
OPTION = re.compile(
    r'<label (?:class="form-check-label" )?for="(?:q\d+-|choice-)(\d+)">(?:<span>)?[A-Z]\. (.*?)</(?:label|span)>'
)
SHOWN_KEY = re.compile(r"正确答案: ([A-Z]+)")


@pytest.fixture
def course_plan(db):
    """The principal trainees' plan (two lessons of 16 class hours), a bank and a template of 11
    questions / 100 points (pass mark 80)."""
    course = CourseFactory()
    lessons = [LessonFactory(course=course, class_hours=Decimal(16)) for _ in range(2)]
    plan_with(course, certificate_type="principal", training_category="initial")
    bank_make(certificate_types=("principal",))
    template_make(certificate_type="principal", training_category="initial")
    return lessons


def _exam_ready(lessons, **enrollment_fields):
    """A principal trainee whose 32 class hours are recorded: the exam unlocks by the real rule."""
    enrollment = EnrollmentFactory(
        trainee__certificate_type="principal", trainee__training_category="initial", **enrollment_fields
    )
    staff = StaffFactory(role="course_admin", is_superuser=True)
    for lesson in lessons:
        study_hours_record(
            enrollment=enrollment, lesson=lesson, minutes=16 * 45, reason="课堂培训", actor=staff
        )
    return enrollment


@pytest.fixture
def enrollment(course_plan):
    return _exam_ready(course_plan)


@pytest.fixture
def trainee(client, enrollment):
    client.force_login(enrollment.user)
    return client


def _start(client, enrollment) -> Attempt:
    response = client.post(reverse("exams:start", args=[enrollment.pk]))
    attempt = Attempt.objects.get(enrollment=enrollment, status=AttemptStatus.IN_PROGRESS)
    assert response.status_code == 302 and response.url == reverse("exams:attempt", args=[attempt.pk])
    return attempt


def _learn(body: str, leaked: dict[str, set[str]]) -> None:
    """What an attacker reads off a practice page: the question and, once answered, 正确答案."""
    shown = SHOWN_KEY.search(body)
    legend = LEGEND.search(body)
    if shown and legend:
        options = dict(OPTION.findall(body))
        letters = "ABCDEF"
        leaked[legend.group(2)] = {text for i, text in options.items() if letters[int(i)] in shown.group(1)}


def _answers_from(paper: str, leaked: dict[str, set[str]]) -> dict[str, list[str]]:
    """The attacker's answers: what practice revealed, else option A."""
    answers = {}
    for block in paper.split('<div class="exam-question')[1:]:
        position, stem = LEGEND.search(block).groups()
        options = OPTION.findall(block)
        known = [i for i, text in options if text in leaked.get(stem, set())]
        answers[f"q{position}"] = known or ["0"]
    return answers


def _closed_page(response, attempt) -> None:
    """Refused with the message and a link back to the running paper; no question, no answer."""
    assert response.status_code == 403
    body = response.content.decode()
    closed = re.search(
        r'<div class="alert alert-warning" role="status" id="practice-closed">(.*?)</div>', body, re.S
    )
    assert closed is not None
    assert closed.group(1).split("<a")[0].strip() == CLOSED
    assert f'<a class="alert-link" href="{reverse("exams:attempt", args=[attempt.pk])}">继续考试</a>' in body
    assert "正确答案" not in body and 'name="choice"' not in body and 'name="question"' not in body
    for stem, options, explanation in Question.objects.values_list("stem", "options", "explanation"):
        assert stem not in body and explanation not in body
        assert not any(option in body for option in options if len(option) > 2)  # not 正确 / 错误


def test_practice_cannot_reveal_the_answers_of_a_running_exam(
    trainee, enrollment, django_capture_on_commit_callbacks
):
    practice = reverse("exams:practice", args=[enrollment.pk])
    home = trainee.get(reverse("exams:home", args=[enrollment.pk])).content.decode()
    assert practice in home  # open before the exam
    attempt = _start(trainee, enrollment)
    assert practice not in trainee.get(reverse("exams:home", args=[enrollment.pk])).content.decode()

    leaked: dict[str, set[str]] = {}
    paper_questions = list(
        AttemptQuestion.objects.filter(attempt=attempt)
        .order_by("position")
        .values_list("question_id", flat=True)
    )
    # Walk the bank in every mode, as in the report.
    for mode in MODES:
        response = trainee.get(practice, {"mode": mode})
        _closed_page(response, attempt)
        for question_id in paper_questions:
            response = trainee.get(practice, {"mode": mode, "after": question_id})
            _closed_page(response, attempt)
            # Answer each paper question once (right and wrong): refused, nothing recorded.
            for choice in ("0", "1"):
                response = trainee.post(practice, {"mode": mode, "question": question_id, "choice": [choice]})
                _closed_page(response, attempt)
                _learn(response.content.decode(), leaked)
    assert leaked == {}
    assert not PracticeItem.objects.exists()

    # The paper itself never carries the key; submit what practice gave (nothing: option A).
    paper = trainee.get(reverse("exams:attempt", args=[attempt.pk])).content.decode()
    answers = _answers_from(paper, leaked)
    assert len(answers) == 11
    with django_capture_on_commit_callbacks(execute=True):
        done = trainee.post(reverse("exams:submit", args=[attempt.pk]), answers)
    assert done.url == reverse("exams:result", args=[attempt.pk])
    attempt.refresh_from_db()
    guessed_right = sum(
        (points for correct, points in attempt.items.values_list("correct", "points") if correct == [0]),
        Decimal("0"),
    )
    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.score == guessed_right and attempt.score <= Decimal("50") < attempt.pass_mark
    assert attempt.passed is False
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert not Certificate.objects.filter(enrollment=enrollment).exists()

    # Submitted: practice opens again, answers are shown and recorded.
    page = trainee.get(practice, {"mode": "sequential"})
    assert page.status_code == 200 and 'id="practice-closed"' not in page.content.decode()
    question = page.context["question"]
    answered = trainee.post(practice, {"mode": "sequential", "question": question.pk, "choice": ["0"]})
    assert answered.status_code == 200
    _learn(answered.content.decode(), leaked)
    assert leaked == {question.stem: {question.options[i] for i in question.answer}}
    assert PracticeItem.objects.get().question == question


def test_practice_reopens_when_the_time_is_up_and_what_it_shows_cannot_change_the_paper(trainee, enrollment):
    practice = reverse("exams:practice", args=[enrollment.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        attempt = _start(trainee, enrollment)
        item = attempt.items.order_by("position").first()
        _closed_page(trainee.post(practice, {"question": item.question_id, "choice": ["0"]}), attempt)
        traveller.shift(timedelta(minutes=60))  # the deadline: the paper can no longer change
        opened = trainee.post(practice, {"question": item.question_id, "choice": ["0"]})
        assert opened.status_code == 200 and "正确答案" in opened.content.decode()
        assert PracticeItem.objects.get().question_id == item.question_id
        # What was shown now cannot be used: a late answer and a late submit grade what was saved.
        late = trainee.post(
            reverse("exams:answer", args=[attempt.pk]),
            data={"position": item.position, "choices": item.correct},
            content_type="application/json",
        )
        assert late.status_code == 409
        trainee.post(reverse("exams:submit", args=[attempt.pk]), {f"q{item.position}": item.correct})
        attempt.refresh_from_db()
        assert attempt.status == AttemptStatus.SUBMITTED and attempt.submit_reason == "timeout"
        assert attempt.score == Decimal("0")


def test_earlier_reviews_are_hidden_while_a_resit_runs(trainee, enrollment):
    first = _start(trainee, enrollment)
    trainee.post(
        reverse("exams:submit", args=[first.pk]), {f"q{i.position}": ["0"] for i in first.items.all()}
    )
    first.refresh_from_db()
    assert first.status == AttemptStatus.SUBMITTED and not first.passed
    missed = list(first.items.filter(is_correct=False).values_list("explanation", flat=True))
    assert missed
    result = reverse("exams:result", args=[first.pk])
    review = trainee.get(result).content.decode()
    assert "正确答案" in review and all(explanation in review for explanation in missed)

    resit = _start(trainee, enrollment)
    response = trainee.get(result)
    assert response.status_code == 200
    body = response.content.decode()
    assert "正确答案" not in body and not any(explanation in body for explanation in missed)
    closed = re.search(
        r'<div class="alert alert-warning" role="status" id="review-closed">(.*?)</div>', body, re.S
    )
    assert closed is not None and closed.group(1).split("<a")[0].strip() == CLOSED
    assert f'<a class="alert-link" href="{reverse("exams:attempt", args=[resit.pk])}">继续考试</a>' in body

    trainee.post(
        reverse("exams:submit", args=[resit.pk]), {f"q{i.position}": ["0"] for i in resit.items.all()}
    )
    review = trainee.get(result).content.decode()
    assert 'id="review-closed"' not in review and all(explanation in review for explanation in missed)


def test_a_practice_form_opened_before_the_exam_is_refused_after_it_started(trainee, enrollment):
    """The practice page loaded in one tab, the exam started in another, then the form sent."""
    practice = reverse("exams:practice", args=[enrollment.pk])
    form = trainee.get(practice, {"mode": "sequential"})
    assert form.status_code == 200
    question = form.context["question"]
    attempt = _start(trainee, enrollment)
    response = trainee.post(practice, {"mode": "sequential", "question": question.pk, "choice": ["1"]})
    _closed_page(response, attempt)
    assert not PracticeItem.objects.exists()


def test_another_enrollment_of_the_same_account_is_closed_too(trainee, enrollment, course_plan):
    """One study account can hold several enrollments (the bank can serve both certificate types)."""
    other = _exam_ready(course_plan, user=enrollment.user)
    practice = reverse("exams:practice", args=[other.pk])
    assert trainee.get(practice).status_code == 200
    attempt = _start(trainee, enrollment)
    question = attempt.items.first().question_id
    _closed_page(trainee.get(practice, {"mode": "sequential", "after": question}), attempt)
    _closed_page(trainee.post(practice, {"question": question, "choice": ["0"]}), attempt)
    assert not PracticeItem.objects.exists()
