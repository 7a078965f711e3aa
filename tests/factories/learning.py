"""Learning data: study accounts (enrollments), courses, lessons, the one lesson-plan builder
(``plan_with`` adds courses to a plan; ``plan_make`` builds a course of two lessons for it) and
enrollments that studied through learning's own services (``studied_enrollment_make``: with every
lesson credited the exam unlocks by learning's real rule)."""

import datetime
import math
from decimal import Decimal

import factory
from django.utils import timezone

from learning.models import Course, CoursePlan, Enrollment, Lesson

from .people import StaffFactory, UserFactory
from .registration import PaidTraineeFactory


class EnrollmentFactory(factory.django.DjangoModelFactory):
    """An active enrollment of a paid trainee, with their log-in account (the user of the trainee's
    mobile), made directly, without the account service."""

    class Meta:
        model = Enrollment

    trainee = factory.SubFactory(PaidTraineeFactory)
    user = factory.LazyAttribute(lambda o: UserFactory(mobile=o.trainee.mobile, name=o.trainee.name))
    programme = factory.SelfAttribute("trainee.programme")
    opened_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyAttribute(lambda o: o.opened_at + datetime.timedelta(days=30))


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"course-{n}")
    title = factory.Sequence(lambda n: f"课程{n}")
    order = factory.Sequence(lambda n: n)


class LessonFactory(factory.django.DjangoModelFactory):
    """A one-class-hour HTML lesson."""

    class Meta:
        model = Lesson

    course = factory.SubFactory(CourseFactory)
    code = factory.Sequence(lambda n: f"lesson-{n}")
    order = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"第{n}讲")
    kind = "html"
    class_hours = Decimal("1")
    body_html = "<h2>安全生产</h2><p>安全第一、预防为主、综合治理。</p>"


def plan_with(*courses, certificate_type="principal", training_category="initial") -> CoursePlan:
    """The course plan of a certificate type and training category (the factories' trainee's by
    default), with ``courses`` added to it."""
    plan, _created = CoursePlan.objects.get_or_create(
        certificate_type=certificate_type, training_category=training_category
    )
    plan.courses.add(*courses)
    return plan


def plan_make(*, certificate_type="principal", training_category="initial", hours=32) -> list[Lesson]:
    """A course of two lessons worth ``hours`` class hours together, in the plan of that certificate
    type and training category (see :func:`plan_with`)."""
    course = CourseFactory(code=f"c-{certificate_type}-{training_category}", title="安全生产法律法规")
    lessons = [
        LessonFactory(
            course=course,
            code=f"{course.code}-{i}",
            order=i,
            title=f"第 {i} 讲",
            class_hours=Decimal(hours) / 2,
        )
        for i in (1, 2)
    ]
    plan_with(course, certificate_type=certificate_type, training_category=training_category)
    return lessons


def studied_enrollment_make(*, lessons_done: int | None = None, **fields) -> Enrollment:
    """An enrollment (``EnrollmentFactory(**fields)``) that studied through learning's services: the
    first ``lessons_done`` lessons of its course plan (every lesson when ``None``) credited in full
    by staff entries. The plan of the trainee's certificate type and category is made when it has no
    lessons: two lessons holding the programme's class hours together. With every lesson done (and
    the plan holding the programme's hours), the exam unlocks by learning's own rule
    (``learning.selectors.study.enrollment_exam_unlocked``); with fewer, it stays locked."""
    from learning.services.staff_hours import study_hours_record

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


class OfflineSessionFactory(factory.django.DjangoModelFactory):
    """An offline session (issue #23) of the factories' programme, running now for two hours."""

    class Meta:
        model = "learning.OfflineSession"

    programme = factory.SubFactory("tests.factories.registration.ProgrammeFactory")
    title = factory.Sequence(lambda n: f"线下课堂{n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(minutes=30))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=2))
    place = "市安全生产培训中心 301 室"
    hours = Decimal("4")
