"""Certificates test data: passed enrollments with their hours, and certificates made directly."""

import datetime
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from certificates.models import Certificate
from learning.models import Course, CoursePlan, Lesson
from learning.services import enrollment_mark_passed, study_hours_record
from tests.learning.factories import EnrollmentFactory
from tests.portal.factories import StaffFactory
from tests.registration.factories import image_bytes


def plan_make(*, certificate_type="safety_manager", training_category="initial", hours=32) -> list[Lesson]:
    """A course plan of two lessons worth ``hours`` class hours together."""
    plan, _created = CoursePlan.objects.get_or_create(
        certificate_type=certificate_type, training_category=training_category
    )
    course = Course.objects.create(code=f"c-{certificate_type}-{training_category}", title="安全生产法律法规")
    lessons = [
        Lesson.objects.create(
            course=course,
            code=f"{course.code}-{i}",
            order=i,
            title=f"第 {i} 讲",
            class_hours=Decimal(hours) / 2,
        )
        for i in (1, 2)
    ]
    plan.courses.add(course)
    return lessons


ISSUER = "示例省安全生产协会"


def association_make():
    """The association whose "certificate issuer" is printed on certificates."""
    from portal.models import Association

    association, _created = Association.objects.get_or_create(
        pk=1, defaults={"name": "示例市职业安全健康协会", "certificate_issuer": ISSUER}
    )
    return association


def passed_enrollment_make(*, hours_complete=True, photo=True, passed_at=None, **trainee):
    """An enrollment whose exam was passed (through learning's services), with the plan's hours
    credited unless ``hours_complete`` is False, and a photo from attachment 2. The association
    (the issuer) exists."""
    association_make()
    enrollment = EnrollmentFactory(**{f"trainee__{key}": value for key, value in trainee.items()})
    trainee_row = enrollment.trainee
    lessons = list(
        Lesson.objects.filter(
            course__plans__certificate_type=trainee_row.certificate_type,
            course__plans__training_category=trainee_row.training_category,
        )
    ) or plan_make(
        certificate_type=trainee_row.certificate_type, training_category=trainee_row.training_category
    )
    staff = StaffFactory(is_superuser=True)
    for lesson in lessons if hours_complete else lessons[:1]:
        study_hours_record(
            enrollment=enrollment,
            lesson=lesson,
            minutes=int(lesson.class_hours * 45),
            reason="课堂培训",
            actor=staff,
        )
    if photo:
        trainee_row.photo.save("photo.jpg", ContentFile(image_bytes(width=295, height=413)), save=True)
    enrollment_mark_passed(enrollment=enrollment, passed_at=passed_at or timezone.now())
    enrollment.refresh_from_db()
    return enrollment


class CertificateFactory(factory.django.DjangoModelFactory):
    """A certificate row made directly (for admin and view tests that do not need the issuing)."""

    class Meta:
        model = Certificate

    enrollment = factory.SubFactory(EnrollmentFactory, status="passed")
    number = factory.Sequence(lambda n: f"AQ2026{n + 900000:06d}")
    holder_name = factory.SelfAttribute("enrollment.trainee.name")
    id_number_masked = "4401**********123X"
    certificate_type = "safety_manager"
    training_category = "initial"
    hours = Decimal("32")
    unit_name = "示例机械制造有限公司"
    issuer = ISSUER
    passed_at = factory.LazyFunction(timezone.now)
    issue_date = factory.LazyFunction(timezone.localdate)
    mail_recipient = "王收件"
    mail_phone = "13800000000"
    mail_address = "示例市中心区安全路 8 号"
    mail_due_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=14))
