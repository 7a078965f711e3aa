import math

from exams.models import AttemptQuestion
from learning.models import Lesson
from learning.services.staff_hours import study_hours_record
from portal.models import AuditEntry
from tests.factories import EnrollmentFactory
from tests.factories.learning import plan_make
from tests.factories.people import StaffFactory


def studied_enrollment_make(*, lessons_done: int | None = None, **fields):
    """An enrollment (``EnrollmentFactory(**fields)``) that studied through learning's services: the
    first ``lessons_done`` lessons of its course plan (every lesson when ``None``) credited in full
    by staff entries. The plan of the trainee's certificate type and category is made when it has no
    lessons: two lessons holding the programme's class hours together. With every lesson done, the
    exam unlocks by learning's own rule; with fewer, it stays locked."""
    enrollment = EnrollmentFactory(**fields)
    trainee = enrollment.trainee
    lessons = list(
        Lesson.objects.filter(
            course__plans__certificate_type=trainee.certificate_type,
            course__plans__training_category=trainee.training_category,
        ).order_by("course__order", "order", "pk")
    ) or plan_make(
        certificate_type=trainee.certificate_type,
        training_category=trainee.training_category,
        hours=enrollment.programme.hours_for(trainee.training_category),
    )
    staff = StaffFactory(is_superuser=True)
    for lesson in lessons[:lessons_done]:
        study_hours_record(
            enrollment=enrollment,
            lesson=lesson,
            minutes=math.ceil(lesson.required_ms / 60_000),
            reason="课堂培训",
            actor=staff,
        )
    return enrollment


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
