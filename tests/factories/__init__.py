"""The test factories of every app, in one place (``from tests.factories import TraineeFactory``).

- ``people``: users and staff (``StaffFactory(role=REVIEWER)``), audit entries, and generators of valid
  ID numbers (``id_number_make``), mobiles (``mobile_make``) and credit codes (``uscc_make``).
- ``registration``: programmes open today, unit applications, trainees by step (``TraineeFactory``
  submitted, ``ApprovedTraineeFactory``, ``PaidTraineeFactory``, ``CompleteTraineeFactory`` with
  attachment 2), attachment 1 form data (``applicant_data``, ``roster_rows``) and image uploads.
- ``payments``: payee settings, payment reports, holidays.
- ``learning``: enrollments, courses, lessons, offline sessions (``OfflineSessionFactory``), the lesson-plan builder (``plan_with``, ``plan_make``)
  and ``studied_enrollment_make`` (hours credited through learning's services: the exam unlocks by
  learning's own rule, never a stub of it).
- ``exams``: questions, templates and rules, ``bank_make``, ``template_make``.
- ``certificates``: the issuer (``association_make``), ``passed_enrollment_make``, certificates.
- ``support``: the association's contacts (``ContactFactory``) and FAQ entries (``FaqEntryFactory``).
- ``announcements``: announcements (``AnnouncementFactory``: shown by default).
- ``units``: unit accounts (``UnitFactory`` by credit code, ``UnitContactFactory``).
- ``refresher``: last year's programme and certified people of a unit or alone (``certified_person_make``).

Every default is valid data: ID numbers carry their check digit, mobiles and codes are well formed, a
trainee's certificate type matches the default plan and exam template (principal, initial training).
"""

from .announcements import AnnouncementFactory
from .certificates import ISSUER, CertificateFactory, association_make, passed_enrollment_make
from .exams import AttemptFactory, ExamTemplateFactory, QuestionFactory, RuleFactory, bank_make, template_make
from .learning import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    OfflineSessionFactory,
    plan_make,
    plan_with,
    studied_enrollment_make,
)
from .payments import HolidayFactory, PaymentFactory, PaymentSettingsFactory
from .people import (
    PASSWORD,
    AuditEntryFactory,
    StaffFactory,
    UserFactory,
    id_number_make,
    mobile_make,
    uscc_make,
)
from .refresher import certified_person_make, last_year_programme_make
from .registration import (
    ALL_CONSENTS,
    ATTACHMENT1_CONSENTS_POST,
    ATTACHMENT2_CONSENTS_POST,
    ApplicationFactory,
    ApprovedTraineeFactory,
    CompleteTraineeFactory,
    PaidTraineeFactory,
    ProgrammeFactory,
    ReturnReasonFactory,
    TraineeFactory,
    applicant_data,
    image_bytes,
    roster_rows,
    upload,
)
from .support import ContactFactory, FaqEntryFactory
from .units import UnitContactFactory, UnitFactory

__all__ = [
    "ALL_CONSENTS",
    "ATTACHMENT1_CONSENTS_POST",
    "ATTACHMENT2_CONSENTS_POST",
    "ISSUER",
    "PASSWORD",
    "AnnouncementFactory",
    "ApplicationFactory",
    "ApprovedTraineeFactory",
    "AttemptFactory",
    "AuditEntryFactory",
    "CertificateFactory",
    "CompleteTraineeFactory",
    "ContactFactory",
    "CourseFactory",
    "EnrollmentFactory",
    "ExamTemplateFactory",
    "FaqEntryFactory",
    "HolidayFactory",
    "LessonFactory",
    "OfflineSessionFactory",
    "PaidTraineeFactory",
    "PaymentFactory",
    "PaymentSettingsFactory",
    "ProgrammeFactory",
    "ReturnReasonFactory",
    "QuestionFactory",
    "RuleFactory",
    "StaffFactory",
    "TraineeFactory",
    "UserFactory",
    "applicant_data",
    "association_make",
    "bank_make",
    "id_number_make",
    "image_bytes",
    "mobile_make",
    "passed_enrollment_make",
    "plan_make",
    "plan_with",
    "roster_rows",
    "studied_enrollment_make",
    "template_make",
    "upload",
    "uscc_make",
    "UnitContactFactory",
    "UnitFactory",
    "certified_person_make",
    "last_year_programme_make",
]
