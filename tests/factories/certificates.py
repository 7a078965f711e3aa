"""Certificates data: the issuing association, enrollments whose exam was passed through learning's
own services (hours credited, photo on file), and certificate rows made directly."""

import datetime
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from certificates.models import Certificate
from learning.models import Lesson
from portal.models import Association

from .learning import EnrollmentFactory, plan_make
from .people import StaffFactory
from .registration import image_bytes

ISSUER = "示例省安全生产协会"


def association_make() -> Association:
    """The association whose "certificate issuer" is printed on certificates."""
    association, _created = Association.objects.get_or_create(
        pk=1, defaults={"name": "示例市职业安全健康协会", "certificate_issuer": ISSUER}
    )
    return association


def passed_enrollment_make(*, hours_complete=True, photo=True, passed_at=None, **trainee):
    """An enrollment whose exam was passed (through learning's services), with the plan's hours
    credited unless ``hours_complete`` is False, and a photo from attachment 2. The association
    (the issuer) exists. Keyword arguments other than these set the trainee's fields."""
    from learning.services.passing import enrollment_mark_passed
    from learning.services.staff_hours import study_hours_record

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
    """A certificate row made directly (for admin and view tests that do not need the issuing), of
    its enrollment's trainee."""

    class Meta:
        model = Certificate

    enrollment = factory.SubFactory(EnrollmentFactory, status="passed")
    number = factory.Sequence(lambda n: f"AQ2026{n + 900000:06d}")
    holder_name = factory.SelfAttribute("enrollment.trainee.name")
    id_number_masked = factory.SelfAttribute("enrollment.trainee.id_number_masked")
    certificate_type = factory.SelfAttribute("enrollment.trainee.certificate_type")
    training_category = factory.SelfAttribute("enrollment.trainee.training_category")
    hours = Decimal("32")
    unit_name = "示例机械制造有限公司"
    issuer = ISSUER
    passed_at = factory.LazyFunction(timezone.now)
    issue_date = factory.LazyFunction(timezone.localdate)
    mail_recipient = "王收件"
    mail_phone = "13800000000"
    mail_address = "示例市中心区安全路 8 号"
    mail_due_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=14))
