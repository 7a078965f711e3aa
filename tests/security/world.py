"""Trainees with everything along the pipeline, for the security tests: application, attachment 2
documents, a payment report with a screenshot and its invoice PDF, an open study account, a plan
with a video lesson, a live study session and an exam attempt in progress.

Built with the shared test factories (``tests.factories``). The exam is open by learning's own rule:
the plan holds the programme's class hours (the video lesson and a course of the rest) and every
lesson is credited through learning's services (``studied_enrollment_make``)."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from exams import services as exam_services
from exams.models import Attempt
from learning.models import Course, Enrollment, Lesson, StudyState
from payments.models import Invoice, Payment
from registration.models import Application, Trainee, TraineeStatus
from tests.factories import (
    ApplicationFactory,
    CompleteTraineeFactory,
    CourseFactory,
    LessonFactory,
    PaymentFactory,
    bank_make,
    image_bytes,
    plan_make,
    plan_with,
    studied_enrollment_make,
    template_make,
)

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


@dataclass
class TraineeWorld:
    application: Application
    trainee: Trainee
    payment: Payment
    invoice: Invoice
    enrollment: Enrollment
    course: Course
    lesson: Lesson
    attempt: Attempt
    state: StudyState | None = None

    @property
    def user(self):
        return self.enrollment.user


def trainee_world(programme, *, certificate_type: str, label: str) -> TraineeWorld:
    """One unit application with one trainee who has done every step up to an exam in progress."""
    application = ApplicationFactory(programme=programme, unit_name=f"{label}单位有限公司")
    trainee = CompleteTraineeFactory(
        application=application,
        name=f"{label}学员",
        certificate_type=certificate_type,
        status=TraineeStatus.APPROVED,
        paid_at=timezone.now(),
    )
    payment = PaymentFactory(
        application=application,
        trainees=[trainee],
        amount_fen=trainee.fee_fen,
        expected_fen=trainee.fee_fen,
        screenshot=ContentFile(image_bytes(120, 200, fmt="PNG"), name="screenshot.png"),
    )
    invoice = Invoice.objects.create(
        payment=payment,
        buyer_name=application.invoice_title,
        email="invoice@example.org",
        pdf=ContentFile(PDF_BYTES, name="invoice.pdf"),
    )
    course = CourseFactory(title=f"{label}课程")
    lesson = LessonFactory(
        course=course,
        title=f"{label}视频课",
        kind="video",
        class_hours=Decimal("1"),
        video=ContentFile(MP4_BYTES, name="lesson.mp4"),
        video_duration_seconds=2700,
        body_html="",
    )
    plan_with(course, certificate_type=certificate_type, training_category=trainee.training_category)
    plan_make(  # the rest of the programme's class hours, in a second course of the same plan
        certificate_type=certificate_type,
        training_category=trainee.training_category,
        hours=programme.hours_for(trainee.training_category) - lesson.class_hours,
    )
    enrollment = studied_enrollment_make(trainee=trainee)  # every lesson credited: the exam unlocks
    bank_make(single=12, multiple=12, true_false=12, certificate_types=(certificate_type,))
    template_make(certificate_type=certificate_type, training_category=trainee.training_category)
    attempt = exam_services.attempt_start(enrollment=enrollment, actor=enrollment.user)
    return TraineeWorld(
        application=application,
        trainee=trainee,
        payment=payment,
        invoice=invoice,
        enrollment=enrollment,
        course=course,
        lesson=lesson,
        attempt=attempt,
    )


def exam_attempt_end(world: TraineeWorld) -> Attempt:
    """Submit the world's exam attempt, every answer wrong (failed: the enrollment stays open).
    Practice is closed while an attempt runs (``tests/security/test_exam_integrity.py``)."""
    from tests.exams.helpers import answers_scoring

    attempt = world.attempt
    answers = answers_scoring(attempt, wrong=attempt.question_count)
    world.attempt = exam_services.attempt_submit(attempt_id=attempt.pk, user=world.user, answers=answers)
    assert world.attempt.status == "submitted" and not world.attempt.passed
    return world.attempt


def study_session_open(world: TraineeWorld, client) -> StudyState:
    """Start the trainee's live study session through their own logged-in client (as the page does)."""
    from django.urls import reverse

    response = client.post(
        reverse("learning:lesson_start", args=[world.enrollment.pk, world.lesson.pk]),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    world.state = StudyState.objects.get(enrollment=world.enrollment)
    return world.state
