"""Exam test helpers: answers read from a paper, and learning's "passed" audit entries. Studied
enrollments (the exam unlocked by learning's own rule) come from ``tests.factories``
(``studied_enrollment_make``)."""

from exams.models import AttemptQuestion
from portal.models import AuditEntry


def passed_entries(enrollment) -> int:
    """How many times learning recorded the enrollment as passed (its "enrollment.passed" audit entries)."""
    return AuditEntry.objects.filter(action="enrollment.passed", target_id=str(enrollment.pk)).count()


def right_answers(attempt) -> dict[int, list[int]]:
    """The correct answer of every question of a paper (read from the database, as a test may)."""
    return dict(AttemptQuestion.objects.filter(attempt=attempt).values_list("position", "correct"))


def wrong_answer(item_correct: list[int], qtype: str, option_count: int) -> list[int]:
    if qtype == "multiple":
        return [i for i in range(option_count) if i not in item_correct][:1] + [item_correct[0]]
    return [next(i for i in range(option_count) if i not in item_correct)]


def answers_scoring(attempt, *, wrong: int = 0) -> dict[int, list[int]]:
    """Answers for every question, the first ``wrong`` of them wrong."""
    answers = {}
    for n, (position, qtype, correct, options) in enumerate(
        AttemptQuestion.objects.filter(attempt=attempt)
        .order_by("position")
        .values_list("position", "qtype", "correct", "options")
    ):
        answers[position] = wrong_answer(correct, qtype, len(options)) if n < wrong else list(correct)
    return answers
