"""The trainee's exam pages: the entry page of an enrollment, the paper (answer sheet, autosave),
submission, results and practice. The correct answers are only rendered after submission, and
never while the trainee has an exam running (practice and earlier reviews closed: the rule lives
in ``exams.selectors.answers_access``)."""

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from learning.selectors.identity import identity_exam_cleared, identity_mode
from learning.selectors.study import enrollment_study_overview
from learning.services.identity import identity_exam_check_use, identity_exam_due
from portal.http import client_ip

from . import rendering, selectors, services
from .models import Attempt, AttemptStatus, QuestionType
from .question_import import OPTION_LETTERS


def _enrollment(request, enrollment_id: int):
    from learning.selectors.enrollments import enrollments_for_user

    return get_object_or_404(enrollments_for_user(user=request.user), pk=enrollment_id)


def _attempt(request, pk: int, *, with_enrollment: bool = True) -> Attempt:
    attempt = selectors.attempt_for_user(user=request.user, pk=pk, with_enrollment=with_enrollment)
    if attempt is None:
        raise Http404
    return attempt


def _close_if_time_is_up(attempt: Attempt, now) -> Attempt:
    """The server's timer: an attempt whose time is up is graded on the first request that sees it."""
    if attempt.status == AttemptStatus.IN_PROGRESS and attempt.deadline <= now:
        services.attempt_submit(attempt_id=attempt.pk, now=now)
        attempt.refresh_from_db()
    return attempt


def _letters(indexes) -> str:
    return "".join(OPTION_LETTERS[i] for i in indexes or [])


@never_cache
@login_required
@require_GET
def exam_home(request, enrollment_id: int):
    """The exam page of one enrollment: locked or not and why, attempts, start / resume, history."""
    now = timezone.now()
    enrollment = _enrollment(request, enrollment_id)
    overview = selectors.exam_overview(enrollment, now=now)
    if overview.open_attempt and overview.open_attempt.deadline <= now:
        _close_if_time_is_up(overview.open_attempt, now)
        overview = selectors.exam_overview(enrollment, now=now)
    return render(
        request,
        "exams/home.html",
        {
            "enrollment": enrollment,
            "overview": overview,
            "practice": selectors.practice_access(enrollment, now=now),
            # Locked: the hours done and still needed, by learning's own rule.
            "study": None if overview.access else enrollment_study_overview(enrollment),
        },
    )


@login_required
@require_POST
def attempt_start(request, enrollment_id: int):
    enrollment = _enrollment(request, enrollment_id)
    checked = identity_mode(enrollment) != "none"  # issue #23: who sits the exam
    if checked and not identity_exam_cleared(enrollment, now=timezone.now()):
        home = reverse("exams:home", kwargs={"enrollment_id": enrollment.pk})
        return redirect(f"{reverse('learning:identity', args=[enrollment.pk])}?context=exam&next={home}")
    try:
        attempt = services.attempt_start(enrollment=enrollment, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("exams:home", enrollment_id=enrollment.pk)
    if checked:
        identity_exam_check_use(
            enrollment=enrollment,
            attempt_id=attempt.pk,
            remaining_seconds=attempt.remaining_seconds(timezone.now()),
        )
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return redirect("exams:result", pk=attempt.pk)
    return redirect("exams:attempt", pk=attempt.pk)


def _paper_rows(attempt: Attempt) -> list[dict]:
    """What the exam page may show of each question: never the correct answer or explanation."""
    rows = []
    for position, qtype, stem, options, answer, points in attempt.items.order_by("position").values_list(
        "position", "qtype", "stem", "options", "answer", "points"
    ):
        chosen = set(answer or [])
        rows.append(
            {
                "position": position,
                "qtype": qtype,
                "type_label": QuestionType(qtype).label,
                "multiple": qtype == QuestionType.MULTIPLE,
                "stem": stem,
                "points": points,
                "answered": bool(chosen),
                "options": [
                    {"index": i, "letter": OPTION_LETTERS[i], "text": text, "checked": i in chosen}
                    for i, text in enumerate(options)
                ],
            }
        )
    return rows


def _render_paper(request, attempt, *, now, unanswered=None, status=200):
    rows = _paper_rows(attempt)
    return render(
        request,
        "exams/attempt.html",
        {
            "attempt": attempt,
            "rows": rows,
            "paper_html": rendering.paper_html(rows),
            "sheet_html": rendering.sheet_html(rows),
            "answered_count": sum(1 for r in rows if r["answered"]),
            "remaining": attempt.remaining_seconds(now),
            "unanswered": unanswered or [],
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def attempt_page(request, pk: int):
    now = timezone.now()
    attempt = _close_if_time_is_up(_attempt(request, pk, with_enrollment=False), now)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return redirect("exams:result", pk=attempt.pk)
    return _render_paper(request, attempt, now=now)


def _expired_json(attempt_id: int) -> JsonResponse:
    return JsonResponse(
        {
            "ok": False,
            "expired": True,
            "message": _("The exam has ended; your answers have been submitted."),
            "result_url": reverse("exams:result", args=[attempt_id]),
        },
        status=409,
    )


@never_cache
@login_required
@require_POST
def attempt_answer(request, pk: int):
    """Save one answer: ``{"position": 3, "choices": [0, 2]}`` (CSRF header). Idempotent."""
    try:
        data = json.loads(request.body or b"{}")
        position = int(data["position"])
        choices = data.get("choices") or []
        if not isinstance(choices, list) or not 0 < position < 2**15:
            raise ValueError
        choices = [int(choice) for choice in choices]
    except (ValueError, KeyError, TypeError, OverflowError):  # Infinity / NaN / huge numbers too
        return JsonResponse({"ok": False, "error": _("The answer is not valid.")}, status=400)
    try:
        saved = services.attempt_answer_save(
            attempt_id=pk, user=request.user, position=position, choices=choices
        )
    except Attempt.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        return JsonResponse({"ok": False, "error": " ".join(exc.messages)}, status=400)
    if saved.expired:
        return _expired_json(saved.attempt_id)
    return JsonResponse(
        {
            "ok": True,
            "position": position,
            "answered": bool(choices),
            "remaining_seconds": saved.remaining_seconds,
        }
    )


@never_cache
@login_required
@require_GET
def attempt_state(request, pk: int):
    """The server's clock and the saved answers (numbers only), for the timer and resuming."""
    now = timezone.now()
    attempt = _close_if_time_is_up(_attempt(request, pk, with_enrollment=False), now)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return _expired_json(attempt.pk)
    answered = list(
        attempt.items.filter(answer__isnull=False).order_by("position").values_list("position", flat=True)
    )
    data = {"ok": True, "remaining_seconds": attempt.remaining_seconds(now), "answered": answered}
    if identity_exam_due(attempt_id=attempt.pk, now=now):  # issue #23: the random check during the exam
        here = reverse("exams:attempt", args=[attempt.pk])
        data["identity_url"] = (
            f"{reverse('learning:identity', args=[attempt.enrollment_id])}?"
            f"{urlencode({'context': 'exam', 'attempt': attempt.pk, 'next': here})}"
        )
    return JsonResponse(data)


def _posted_answers(request) -> dict[int, list]:
    answers = {}
    for key in request.POST:
        if key.startswith("q") and key[1:].isascii() and key[1:].isdigit() and len(key) < 7:  # q1 … q99999
            answers[int(key[1:])] = request.POST.getlist(key)
    return answers


@login_required
@require_http_methods(["POST"])
def attempt_submit(request, pk: int):
    """确认交卷: refused (with the unanswered numbers) until every question is answered."""
    now = timezone.now()
    try:
        attempt = services.attempt_submit(
            attempt_id=pk, user=request.user, answers=_posted_answers(request), now=now, ip=client_ip(request)
        )
    except Attempt.DoesNotExist:
        raise Http404 from None
    except services.UnansweredQuestions as exc:
        attempt = _attempt(request, pk, with_enrollment=False)
        return _render_paper(request, attempt, now=now, unanswered=exc.positions, status=400)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("exams:attempt", pk=pk)
    return redirect("exams:result", pk=attempt.pk)


@never_cache
@login_required
@require_GET
def attempt_result(request, pk: int):
    now = timezone.now()
    attempt = _close_if_time_is_up(_attempt(request, pk), now)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        return redirect("exams:attempt", pk=attempt.pk)
    enrollment = attempt.enrollment
    attempts = selectors.attempts_for_enrollment(enrollment)  # one query: the count and the open one
    remaining = selectors.attempts_remaining(attempt, attempts=attempts)
    open_attempt = next((a for a in attempts if a.status == AttemptStatus.IN_PROGRESS), None)
    review = selectors.answers_access(user_id=request.user.pk, now=now)  # closed while an exam runs
    missed = (
        attempt.items.filter(is_correct=False)
        .order_by("position")
        .values_list("position", "qtype", "stem", "options", "correct", "answer", "explanation")
        if review
        else []
    )
    wrong = []
    for position, qtype, stem, options, correct, answer, explanation in missed:
        wrong.append(
            {
                "position": position,
                "type_label": QuestionType(qtype).label,
                "stem": stem,
                "options": [
                    {"letter": OPTION_LETTERS[i], "text": text, "correct": i in correct}
                    for i, text in enumerate(options)
                ],
                "given": _letters(answer) or _("(no answer)"),
                "correct": _letters(correct),
                "explanation": explanation,
            }
        )
    return render(
        request,
        "exams/result.html",
        {
            "attempt": attempt,
            "enrollment": enrollment,
            "remaining": remaining,
            "can_resit": (not attempt.passed)
            and remaining > 0
            and open_attempt is None
            and bool(selectors.exam_access(enrollment, now=now)),
            "open_attempt": open_attempt,
            "review": review,
            "wrong": wrong,
            "review_html": rendering.review_html(wrong),
        },
    )


# ---------------------------------------------------------------------------------------------
# Practice

PRACTICE_MODES = ("random", "sequential", "wrong")


def _digits(value) -> int | None:
    """An id typed as plain digits, else ``None`` (not "²", not thirty digits)."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def practice(request, enrollment_id: int):
    """Practice over the bank of the trainee's certificate type; never an exam attempt."""
    enrollment = _enrollment(request, enrollment_id)
    access = selectors.practice_access(enrollment)
    mode = request.GET.get("mode") or request.POST.get("mode") or "random"
    if mode not in PRACTICE_MODES:
        mode = "random"
    context = {"enrollment": enrollment, "access": access, "mode": mode, "modes": PRACTICE_MODES}
    if not access:
        return render(request, "exams/practice.html", context, status=403)
    result = None
    error = ""
    question = None
    if request.method == "POST":
        pool = selectors.practice_pool(enrollment.trainee.certificate_type)
        question_id = _digits(request.POST.get("question"))
        question = pool.filter(pk=question_id).first() if question_id else None
        if question is None:
            raise Http404
        try:
            result = services.practice_answer(
                enrollment=enrollment, question=question, choices=request.POST.getlist("choice")
            )
        except services.PracticeClosed as exc:  # e.g. an exam started in another tab meanwhile
            context["access"] = exc.access
            return render(request, "exams/practice.html", context, status=403)
        except ObjectDoesNotExist:
            raise Http404 from None
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        after = request.GET.get("after")
        question = selectors.practice_next(enrollment=enrollment, mode=mode, after=_digits(after))
    if question is not None:
        chosen = set(result.chosen) if result else set()
        context["question"] = question
        context["options"] = [
            {
                "index": i,
                "letter": OPTION_LETTERS[i],
                "text": text,
                "checked": i in chosen,
                "correct": result is not None and i in question.answer,
            }
            for i, text in enumerate(question.options)
        ]
        context["multiple"] = question.qtype == QuestionType.MULTIPLE
    context.update(
        {
            "result": result,
            "error": error,
            "correct_letters": _letters(question.answer) if result and question else "",
            "summary": selectors.practice_summary(enrollment),
        }
    )
    return render(request, "exams/practice.html", context)
