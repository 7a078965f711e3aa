import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exams import selectors, services
from exams.models import Attempt, AttemptQuestion, AttemptStatus, PracticeItem, Question
from learning.models import EnrollmentStatus
from tests.factories import EnrollmentFactory, studied_enrollment_make

from .helpers import answers_scoring, passed_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def trainee_client(client, enrollment):
    client.force_login(enrollment.user)
    return client


def post_answer(client, attempt, position, choices):
    return client.post(
        reverse("exams:answer", args=[attempt.pk]),
        data=json.dumps({"position": position, "choices": choices}),
        content_type="application/json",
    )


def test_exam_home_is_only_for_the_enrollments_own_user(client, template, enrollment):
    url = reverse("exams:home", args=[enrollment.pk])
    assert client.get(url).status_code == 302  # login required
    client.force_login(EnrollmentFactory().user)
    assert client.get(url).status_code == 404
    assert client.post(reverse("exams:start", args=[enrollment.pk])).status_code == 404


def test_exam_home_shows_the_lock_and_why(client, template):
    studying = studied_enrollment_make(lessons_done=1)  # one of the plan's two lessons done
    client.force_login(studying.user)
    response = client.get(reverse("exams:home", args=[studying.pk]))
    content = response.content.decode()
    assert "考试尚未解锁" in content
    assert "完成全部必修课程并达到规定学时后解锁考试。" in content
    assert "开始考试" not in content
    response = client.post(reverse("exams:start", args=[studying.pk]), follow=True)
    assert [str(message) for message in response.context["messages"]] == [
        "完成全部必修课程并达到规定学时后解锁考试。"
    ]
    assert not Attempt.objects.exists()


def test_exam_home_after_the_window(trainee_client, template, enrollment):
    enrollment.deadline = timezone.now() - timedelta(hours=1)
    enrollment.save()
    content = trainee_client.get(reverse("exams:home", args=[enrollment.pk])).content.decode()
    assert "考试尚未解锁" in content and "作废" in content


def test_start_answer_resume_and_submit(trainee_client, template, enrollment, django_assert_max_num_queries):
    home = trainee_client.get(reverse("exams:home", args=[enrollment.pk])).content.decode()
    assert "开始考试" in home and "0 / 3" in home
    response = trainee_client.post(reverse("exams:start", args=[enrollment.pk]))
    attempt = Attempt.objects.get()
    assert response.url == reverse("exams:attempt", args=[attempt.pk])
    page = trainee_client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="/static/exams/exam.js"' in html and "<script>" not in html
    assert html.count('class="btn btn-sm sheet-item') == 11
    answers = answers_scoring(attempt)
    with django_assert_max_num_queries(6):  # session, user, locked attempt with the item, update + savepoint
        result = post_answer(trainee_client, attempt, 2, answers[2])
    assert result.status_code == 200 and result.json()["ok"] is True
    assert 0 < result.json()["remaining_seconds"] <= 3600
    # A reload (or another device) shows the saved answer and the same remaining time.
    other_device = Client()
    other_device.force_login(enrollment.user)
    html = other_device.get(reverse("exams:attempt", args=[attempt.pk])).content.decode()
    assert f'id="q2-{answers[2][0]}" checked' in html
    state = other_device.get(reverse("exams:state", args=[attempt.pk])).json()
    assert state["answered"] == [2]
    # Submitting with unanswered questions is refused with their numbers.
    refused = trainee_client.post(reverse("exams:submit", args=[attempt.pk]), {"q1": answers[1]})
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "以下题目尚未作答" in text
    assert 'href="#q3"' in text and 'href="#q1" class="alert-link"' not in text
    # Everything answered (posted with the form): graded, result page.
    data = {f"q{p}": [str(c) for c in choices] for p, choices in answers.items()}
    done = trainee_client.post(reverse("exams:submit", args=[attempt.pk]), data)
    assert done.url == reverse("exams:result", args=[attempt.pk])
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED and attempt.passed
    # After submission the paper page goes to the result, and answering is refused.
    assert trainee_client.get(reverse("exams:attempt", args=[attempt.pk])).url == done.url
    assert post_answer(trainee_client, attempt, 1, [0]).status_code == 409


def test_answer_endpoint_requires_csrf(template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    client = Client(enforce_csrf_checks=True)
    client.force_login(enrollment.user)
    assert post_answer(client, attempt, 1, [0]).status_code == 403
    client.get(reverse("exams:attempt", args=[attempt.pk]))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("exams:answer", args=[attempt.pk]),
        data=json.dumps({"position": 1, "choices": [0]}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200


def test_answer_endpoint_rejects_bad_input_and_other_users(trainee_client, template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    bad = trainee_client.post(
        reverse("exams:answer", args=[attempt.pk]), data="nope", content_type="application/json"
    )
    assert bad.status_code == 400
    assert post_answer(trainee_client, attempt, 1, [0, 1]).status_code == 400
    stranger = Client()
    stranger.force_login(EnrollmentFactory().user)
    assert post_answer(stranger, attempt, 1, [0]).status_code == 404
    assert stranger.get(reverse("exams:attempt", args=[attempt.pk])).status_code == 404
    assert stranger.get(reverse("exams:state", args=[attempt.pk])).status_code == 404
    assert stranger.get(reverse("exams:result", args=[attempt.pk])).status_code == 404
    everything = {f"q{p}": c for p, c in answers_scoring(attempt).items()}
    assert stranger.post(reverse("exams:submit", args=[attempt.pk]), everything).status_code == 404
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.IN_PROGRESS
    assert not AttemptQuestion.objects.filter(attempt=attempt, answer__isnull=False).exists()


def test_no_answer_key_reaches_the_browser_before_submission(trainee_client, template, enrollment):
    responses = [trainee_client.get(reverse("exams:home", args=[enrollment.pk]))]
    responses.append(trainee_client.post(reverse("exams:start", args=[enrollment.pk]), follow=True))
    attempt = Attempt.objects.get()
    answers = answers_scoring(attempt)
    responses.append(trainee_client.get(reverse("exams:attempt", args=[attempt.pk])))
    for position in list(answers)[:-1]:
        responses.append(post_answer(trainee_client, attempt, position, answers[position]))
    responses.append(trainee_client.get(reverse("exams:state", args=[attempt.pk])))
    responses.append(trainee_client.post(reverse("exams:submit", args=[attempt.pk]), {}))
    responses.append(trainee_client.get(reverse("exams:result", args=[attempt.pk]), follow=True))
    items = list(AttemptQuestion.objects.filter(attempt=attempt))
    explanations = [i.explanation for i in items]
    assert all(explanations)
    for response in responses:
        body = response.content.decode()
        for explanation in explanations:
            assert explanation not in body
        assert "correct" not in body.lower().replace("incorrect", "")
        assert "正确答案" not in body
        assert not re.search(r"data-(answer|key|right)=", body)
    # After submission the review shows the correct answers and explanations of the wrong ones.
    answers[1] = [i for i in range(4) if i not in answers[1]][:1]
    trainee_client.post(reverse("exams:submit", args=[attempt.pk]), {f"q{p}": c for p, c in answers.items()})
    review = trainee_client.get(reverse("exams:result", args=[attempt.pk])).content.decode()
    first = next(i for i in items if i.position == 1)
    assert first.explanation in review and "正确答案" in review


def test_time_out_while_away_is_graded_on_the_next_request(trainee_client, template, enrollment):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        attempt = services.attempt_start(enrollment=enrollment)
        answers = answers_scoring(attempt)
        post_answer(trainee_client, attempt, 1, answers[1])
        traveller.shift(timedelta(minutes=61))
        response = trainee_client.get(reverse("exams:state", args=[attempt.pk]))
        assert response.status_code == 409 and response.json()["expired"]
        attempt.refresh_from_db()
        assert attempt.status == AttemptStatus.SUBMITTED and attempt.score == 10
        assert trainee_client.get(reverse("exams:attempt", args=[attempt.pk])).url == reverse(
            "exams:result", args=[attempt.pk]
        )


def test_fail_shows_the_resit_button_then_pass(trainee_client, template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    services.attempt_submit(
        attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=3)
    )
    page = trainee_client.get(reverse("exams:result", args=[attempt.pk])).content.decode()
    assert "成绩未及格，请及时参加补考" in page
    assert "开始补考" in page
    response = trainee_client.post(reverse("exams:start", args=[enrollment.pk]))
    resit = Attempt.objects.get(number=2)
    assert response.url == reverse("exams:attempt", args=[resit.pk])
    data = {f"q{p}": c for p, c in answers_scoring(resit).items()}
    trainee_client.post(reverse("exams:submit", args=[resit.pk]), data)
    page = trainee_client.get(reverse("exams:result", args=[resit.pk])).content.decode()
    assert "成绩未及格" not in page and "合格" in page
    resit.refresh_from_db()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.passed_at) == (EnrollmentStatus.PASSED, resit.submitted_at)
    assert passed_entries(enrollment) == 1
    home = trainee_client.get(reverse("exams:home", args=[enrollment.pk])).content.decode()
    assert "开始补考" not in home


def test_no_resits_left_says_what_to_do(trainee_client, template, enrollment):
    enrollment.programme.exam_resits = 0
    enrollment.programme.save()
    attempt = services.attempt_start(enrollment=enrollment)
    services.attempt_submit(
        attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=5)
    )
    page = trainee_client.get(reverse("exams:result", args=[attempt.pk])).content.decode()
    assert "成绩未及格" in page
    assert "开始补考" not in page
    assert "明年" in page and "联系" in page


def test_history_lists_attempts_with_bounded_queries(
    trainee_client, template, enrollment, django_assert_max_num_queries
):
    for _ in range(3):
        attempt = services.attempt_start(enrollment=enrollment)
        services.attempt_submit(
            attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=5)
        )
    with django_assert_max_num_queries(13):  # 12 + the offline class hours of the unlock (one query)
        page = trainee_client.get(reverse("exams:home", args=[enrollment.pk])).content.decode()
    for attempt in Attempt.objects.all():
        assert reverse("exams:result", args=[attempt.pk]) in page
    assert "补考 2" in page


def test_history_offers_to_continue_an_unfinished_attempt(trainee_client, template, enrollment):
    attempt = services.attempt_start(enrollment=enrollment)
    page = trainee_client.get(reverse("exams:home", args=[enrollment.pk])).content.decode()
    href = re.escape(reverse("exams:attempt", args=[attempt.pk]))
    history = page[page.index('id="attempt-history"') :]
    link = re.search(rf'<a [^>]*href="{href}">([^<]+)</a>', history)
    assert link and link.group(1) == "继续答题"  # not the lesson list's 继续学习


def test_practice_page(client, bank):
    studying = studied_enrollment_make(lessons_done=0)
    assert not selectors.exam_access(studying)  # practice needs no unlock
    client.force_login(studying.user)
    url = reverse("exams:practice", args=[studying.pk])
    page = client.get(url + "?mode=sequential")
    assert page.status_code == 200
    question = page.context["question"]
    assert question.explanation not in page.content.decode()
    wrong = [i for i in range(len(question.options)) if i not in question.answer][:1]
    response = client.post(url, {"mode": "sequential", "question": question.pk, "choice": wrong})
    content = response.content.decode()
    assert question.explanation in content and "错题本" in content
    assert PracticeItem.objects.get(question=question).in_wrong_book
    book = client.get(url + "?mode=wrong")
    assert book.context["question"] == question
    assert not Attempt.objects.exists()
    other = Question.objects.create(
        code="sm-only",
        qtype="single",
        for_principal=False,
        topic="law",
        stem="x",
        options=["a", "b"],
        answer=[0],
    )
    assert client.post(url, {"question": other.pk, "choice": [0]}).status_code == 404


def test_practice_closed_after_the_window(trainee_client, bank, enrollment):
    enrollment.deadline = timezone.now() - timedelta(hours=1)
    enrollment.save()
    assert trainee_client.get(reverse("exams:practice", args=[enrollment.pk])).status_code == 403


def test_exam_pages_read_the_database_a_fixed_few_times(
    trainee_client, template, enrollment, django_assert_max_num_queries
):
    attempt = services.attempt_start(enrollment=enrollment)
    answers = answers_scoring(attempt, wrong=5)  # failed: no call into learning to count here
    with django_assert_max_num_queries(5):  # session, user, attempt, items, association (layout)
        assert trainee_client.get(reverse("exams:attempt", args=[attempt.pk])).status_code == 200
    with django_assert_max_num_queries(4):  # session, user, attempt, answered numbers
        assert trainee_client.get(reverse("exams:state", args=[attempt.pk])).status_code == 200
    data = {f"q{p}": [str(c) for c in choices] for p, choices in answers.items()}
    with django_assert_max_num_queries(12):  # whatever the number of questions (+ the offline hours)
        assert trainee_client.post(reverse("exams:submit", args=[attempt.pk]), data).status_code == 302
    # session, user, attempt, its enrollment's attempts, an exam running (review closed), wrong items,
    # layout, and learning's unlock rule for the resit button (plans, lessons, progress, offline hours,
    # presence check)
    with django_assert_max_num_queries(12):
        page = trainee_client.get(reverse("exams:result", args=[attempt.pk]))
    assert page.status_code == 200 and "成绩未及格" in page.content.decode()


def test_locked_exam_page_shows_hours_done_and_needed_with_a_way_back_to_study(client, template):
    studying = studied_enrollment_make(lessons_done=1)  # one of the plan's two lessons (32 hours) done
    client.force_login(studying.user)
    html = client.get(reverse("exams:home", args=[studying.pk])).content.decode()
    assert '<dd class="col-6 col-sm-8" id="hours-done">已完成 16.0 / 32 学时</dd>' in html
    assert '<dd class="col-6 col-sm-8" id="hours-left">16.0 学时（1 节课未完成）</dd>' in html
    go = reverse("learning:enrollment_detail", args=[studying.pk])
    assert f'<a class="btn btn-primary btn-lg" href="{go}" id="go-study">去学习</a>' in html
    assert 'id="lessons-exceed"' not in html
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("exams:home", args=[studying.pk])).content.decode()
    assert "16.0 class hours (1 lesson not complete)" in html and ">Go and study</a>" in html


def test_locked_exam_page_words_the_rule_when_the_lessons_exceed_the_hours(client, template):
    from decimal import Decimal

    from learning.models import Lesson
    from tests.factories import LessonFactory

    studying = studied_enrollment_make()  # the plan's two lessons hold the 32 hours: unlocked
    trainee = studying.trainee
    course = (
        Lesson.objects.filter(
            course__plans__certificate_type=trainee.certificate_type,
            course__plans__training_category=trainee.training_category,
        )
        .first()
        .course
    )
    LessonFactory(course=course, class_hours=Decimal("3"))  # now 35 hours of lessons for 32 required
    client.force_login(studying.user)
    html = client.get(reverse("exams:home", args=[studying.pk])).content.decode()
    assert "考试尚未解锁" in html
    assert '<dd class="col-6 col-sm-8" id="hours-done">已完成 32.0 / 32 学时</dd>' in html
    assert '<dd class="col-6 col-sm-8" id="hours-left">3.0 学时（1 节课未完成）</dd>' in html
    assert (
        "您的课程计划各课时合计 35 学时，多于本项目规定的 32 学时：须完成全部课时才能解锁考试，"
        "因此需要学满 35 学时。" in " ".join(html.split())
    )


def test_practice_options_are_full_width_targets_and_a_wrong_choice_says_so(client, bank):
    studying = studied_enrollment_make(lessons_done=0)
    client.force_login(studying.user)
    url = reverse("exams:practice", args=[studying.pk])
    page = client.get(url + "?mode=sequential")
    html = page.content.decode()
    assert "exams/exam.css" in html  # .practice-option label: full width, min-height 2.75rem (44 px)
    question = page.context["question"]
    assert html.count('<div class="practice-option" data-option=') == len(question.options)
    wrong = next(i for i in range(len(question.options)) if i not in question.answer)
    html = client.post(
        url, {"mode": "sequential", "question": question.pk, "choice": [wrong]}
    ).content.decode()
    letter = "ABCDEFGH"[wrong]
    assert f'<div class="practice-option is-wrong" data-option="{letter}">' in html
    assert '<span class="practice-mark">✗ 您的选择：错误</span>' in html
    assert html.count('<span class="practice-mark">✓ 正确答案</span>') == len(question.answer)
