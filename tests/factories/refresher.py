"""Refresher data (issue #21): last year's programme and a certified person of a unit (or one who
registered alone), with attachment 2 on file, as a unit logging in the next year finds them."""

import datetime

from django.utils import timezone

from registration.models import ApplicantKind, TraineeStatus

from .certificates import CertificateFactory
from .learning import EnrollmentFactory
from .registration import ApplicationFactory, CompleteTraineeFactory, ProgrammeFactory


def last_year_programme_make(**fields):
    """A programme of last year (registration long closed)."""
    opens = timezone.localdate() - datetime.timedelta(days=400)
    values = {"year": opens.year, "opens_on": opens, "closes_on": opens + datetime.timedelta(days=60)}
    values.update(fields)
    return ProgrammeFactory(**values)


def certified_person_make(
    *,
    issue_date: datetime.date,
    programme=None,
    application=None,
    unit=None,
    declared_at: datetime.datetime | None = None,
    individual: bool = False,
    **trainee,
):
    """A person certified on ``issue_date`` in ``programme`` (last year's by default): their
    application (of ``unit``, or an individual's), the registration with attachment 2 complete
    (signed ``declared_at``, default: the issue date), the passed enrollment and the certificate.
    Returns the certificate."""
    programme = programme or last_year_programme_make()
    if application is None:
        extra = {"unit": unit, "invoice_tax_id": unit.credit_code, "unit_name": unit.name} if unit else {}
        if individual:
            extra = {"kind": ApplicantKind.INDIVIDUAL, "invoice_tax_id": ""}
        application = ApplicationFactory(programme=programme, **extra)
    signed = declared_at or timezone.make_aware(datetime.datetime.combine(issue_date, datetime.time(10)))
    person = CompleteTraineeFactory(
        application=application,
        programme=application.programme,
        status=TraineeStatus.APPROVED,
        paid_at=signed,
        declared_at=signed,
        **trainee,
    )
    if individual:
        application.unit_name = person.name
        application.contact_name = person.name
        application.contact_phone = person.mobile
        application.mail_recipient = person.name
        application.mail_phone = person.mobile
        application.invoice_title = person.name
        application.invoice_email = person.email
        application.save()
    enrollment = EnrollmentFactory(trainee=person, status="passed", passed_at=signed)
    return CertificateFactory(enrollment=enrollment, issue_date=issue_date, passed_at=signed)
