"""Factories for the learning tests (registration objects included, with valid IDs and mobiles)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from stdnum.cn import ric

from registration.models import Application, Programme, Trainee, TraineeStatus


def valid_id_number(n: int) -> str:
    birth = datetime.date(1980, 1, 1) + datetime.timedelta(days=n % 9000)
    body = f"440106{birth:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body)


def valid_mobile(n: int) -> str:
    return f"1380013{n % 10000:04d}"


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"2026年度线上培训 {n}")
    year = 2026
    opens_on = datetime.date(2026, 1, 1)
    closes_on = datetime.date(2026, 12, 31)
    study_window_days = 30


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    programme = factory.SubFactory(ProgrammeFactory)
    reference = factory.Sequence(lambda n: f"T2026{n:06d}")
    unit_name = "示例制造有限公司"
    industry = "制造业"
    contact_name = "王联系"
    contact_phone = "13800000000"
    mail_recipient = "王联系"
    mail_phone = "13800000000"
    mail_address = "示例市中心区示例路 1 号"
    invoice_title = "示例制造有限公司"
    invoice_email = "invoice@example.org"


class TraineeFactory(factory.django.DjangoModelFactory):
    """An approved trainee, not yet paid (pass ``paid_at`` or use :class:`PaidTraineeFactory`)."""

    class Meta:
        model = Trainee

    application = factory.SubFactory(ApplicationFactory)
    programme = factory.SelfAttribute("application.programme")
    name = factory.Sequence(lambda n: f"学员{n}")
    id_number = factory.Sequence(valid_id_number)
    mobile = factory.Sequence(valid_mobile)
    email = factory.Sequence(lambda n: f"trainee{n}@example.org")
    certificate_type = "safety_manager"
    training_category = "initial"
    status = TraineeStatus.APPROVED


class PaidTraineeFactory(TraineeFactory):
    paid_at = factory.LazyFunction(timezone.now)


# --- study ------------------------------------------------------------------------------------


class EnrollmentFactory(factory.django.DjangoModelFactory):
    """An active enrollment with its log-in account (made directly, without the account service)."""

    class Meta:
        model = "learning.Enrollment"

    trainee = factory.SubFactory(PaidTraineeFactory)
    user = factory.LazyAttribute(lambda o: _user(o.trainee))
    programme = factory.SelfAttribute("trainee.programme")
    opened_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyAttribute(lambda o: o.opened_at + datetime.timedelta(days=30))


def _user(trainee):
    from tests.portal.factories import UserFactory

    return UserFactory(mobile=trainee.mobile, name=trainee.name)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "learning.Course"

    code = factory.Sequence(lambda n: f"course-{n}")
    title = factory.Sequence(lambda n: f"课程{n}")
    order = factory.Sequence(lambda n: n)


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "learning.Lesson"

    course = factory.SubFactory(CourseFactory)
    code = factory.Sequence(lambda n: f"lesson-{n}")
    order = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"第{n}讲")
    kind = "html"
    class_hours = Decimal("1")
    body_html = "<h2>安全生产</h2><p>安全第一、预防为主、综合治理。</p>"


def plan_with(*courses, certificate_type="safety_manager", training_category="initial"):
    from learning.models import CoursePlan

    plan, _created = CoursePlan.objects.get_or_create(
        certificate_type=certificate_type, training_category=training_category
    )
    plan.courses.add(*courses)
    return plan
