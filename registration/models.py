"""Registration: the year's programme, applications (attachment 1) and trainees (attachment 2).

A trainee row is one person's registration in one programme; its status is what reviewers decide.
``paid_at`` is set by the payments app through :func:`registration.services.payment.trainee_mark_paid`.
"""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.crypto import EncryptedCharField
from portal.storage import (  # migrations refer to <app>.models.private_storage
    private_storage,
    random_upload_path,
)


def _document_path(folder: str, filename: str) -> str:
    return random_upload_path("registration", folder, filename)


def photo_upload_to(instance, filename: str) -> str:
    return _document_path("photos", filename)


def id_copy_upload_to(instance, filename: str) -> str:
    return _document_path("id-copies", filename)


def new_access_key() -> str:
    return secrets.token_urlsafe(24)


class CertificateType(models.TextChoices):
    PRINCIPAL = "principal", _("Principal person in charge")
    SAFETY_MANAGER = "safety_manager", _("Safety production manager")


class TrainingCategory(models.TextChoices):
    INITIAL = "initial", _("Initial training")
    REFRESHER = "refresher", _("Refresher training")


class Programme(models.Model):
    """The year's online training project. Everything later in the pipeline reads its numbers here."""

    name = models.CharField(pgettext_lazy("object name", "name"), max_length=120)
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000)])
    opens_on = models.DateField(_("registration opens on"))
    closes_on = models.DateField(_("registration closes on"))
    fee_initial_fen = models.PositiveIntegerField(
        _("initial training fee (fen)"), default=80_000, help_text=_("In fen: 80000 = 800 yuan.")
    )
    fee_refresher_fen = models.PositiveIntegerField(
        _("refresher training fee (fen)"), default=30_000, help_text=_("In fen: 30000 = 300 yuan.")
    )
    hours_initial = models.PositiveSmallIntegerField(_("class hours, initial training"), default=32)
    hours_refresher = models.PositiveSmallIntegerField(_("class hours, refresher training"), default=12)
    study_window_days = models.PositiveSmallIntegerField(
        _("study window (days)"),
        default=30,
        help_text=_("Days from account opening to finish study and exam."),
    )
    exam_pass_mark = models.PositiveSmallIntegerField(
        _("exam pass mark"), default=80, validators=[MaxValueValidator(100)]
    )
    exam_resits = models.PositiveSmallIntegerField(_("exam resits allowed"), default=2)
    previous_certificate_required = models.BooleanField(
        _("previous certificate number required"),
        default=False,
        help_text=_(
            "Refresher trainees must give the number of their previous training certificate. When off "
            "it is asked for but optional (the notice does not require it)."
        ),
    )
    area_code_prefix = models.CharField(
        _("area (administrative division code)"),
        max_length=6,
        default="4401",
        blank=True,
        validators=[RegexValidator(r"^\d{2,6}$", _("Enter 2 to 6 digits, e.g. 4401 for Guangzhou."))],
        help_text=_(
            "The training is for units in this area: a unit whose unified social credit code "
            "(characters 3–8, the division where it is registered) does not start with these digits "
            "confirms that it trains in the area, and reviewers see a flag. 4401 = Guangzhou; empty: "
            "no check."
        ),
    )
    #: Shown on the public programme page through the allow-list of lesson texts (portal.sanitize).
    description_html = models.TextField(
        _("public description"),
        blank=True,
        help_text=_(
            "Shown on the programme's public page. HTML: paragraphs, lists, tables and links; anything "
            "else is removed."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("training programme")
        verbose_name_plural = _("training programmes")
        ordering = ["-year", "-opens_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_on__gte=models.F("opens_on")), name="programme_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def fee_fen_for(self, category: str) -> int:
        return self.fee_initial_fen if category == TrainingCategory.INITIAL else self.fee_refresher_fen

    def hours_for(self, category: str) -> int:
        return self.hours_initial if category == TrainingCategory.INITIAL else self.hours_refresher

    def is_open_on(self, day) -> bool:
        return self.opens_on <= day <= self.closes_on


class ApplicantKind(models.TextChoices):
    UNIT = "unit", _("Unit (group registration)")
    INDIVIDUAL = "individual", _("Individual")


class Application(models.Model):
    """Attachment 1: the unit (or the person), contact, certificate mailing and invoice details.

    Units have no login: the contact reaches the application through its private link
    (``access_key``), sent to them on submission.
    """

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT)
    reference = models.CharField(_("application number"), max_length=20, unique=True)
    access_key = models.CharField(max_length=64, unique=True, default=new_access_key, editable=False)
    kind = models.CharField(
        _("applicant"), max_length=12, choices=ApplicantKind.choices, default=ApplicantKind.UNIT
    )
    unit_name = models.CharField(_("unit name"), max_length=120)
    industry = models.CharField(_("industry"), max_length=40)
    contact_name = models.CharField(_("contact person"), max_length=50)
    contact_phone = models.CharField(_("contact phone"), max_length=20)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    mail_recipient = models.CharField(_("certificate recipient"), max_length=50)
    mail_phone = models.CharField(_("recipient phone"), max_length=20)
    mail_address = models.CharField(_("mailing address"), max_length=200)
    invoice_title = models.CharField(_("invoice title (unit full name)"), max_length=120)
    invoice_tax_id = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    invoice_email = models.EmailField(_("e-mail for the e-invoice"))
    #: The unit's credit code is registered outside the programme's area and the contact confirmed
    #: that it trains in the area (registration.services.applications); reviewers see the flag.
    outside_area = models.BooleanField(
        _("registered outside the area"), default=False, db_index=True, editable=False
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    submitted_ip = models.GenericIPAddressField(_("submitted from"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    #: Set when the retention purge emptied the contact, mailing and e-mail details (all trainees purged).
    purged_at = models.DateTimeField(_("personal data purged at"), null=True, blank=True, editable=False)
    #: The unit account the application belongs to (by credit code; individuals have none).
    unit = models.ForeignKey(
        "Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applications",
        editable=False,
    )

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.reference} {self.unit_name}"


class Education(models.TextChoices):
    JUNIOR_HIGH = "junior_high", _("Junior high school or below")
    SENIOR_HIGH = "senior_high", _("Senior high / technical secondary school")
    JUNIOR_COLLEGE = "junior_college", _("Junior college")
    BACHELOR = "bachelor", _("Bachelor's degree")
    MASTER = "master", _("Master's degree or above")


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class TraineeStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted, awaiting review")
    RETURNED = "returned", _("Returned for correction")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DuplicateField(models.TextChoices):
    """What a duplicate roster row shares with the live registration it duplicates."""

    ID_NUMBER = "id_number", _("the same ID number")
    MOBILE = "mobile", _("the same mobile number")


LIVE_STATUSES = [TraineeStatus.SUBMITTED, TraineeStatus.RETURNED, TraineeStatus.APPROVED]
#: Staff with this permission see full ID numbers and the ID card copies (each view audited).
FULL_ID_PERMISSION = "registration.view_full_id_number"


class Trainee(models.Model):
    """One roster row of attachment 1 plus the person's attachment 2."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="trainees"
    )
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT)
    row_number = models.PositiveIntegerField(_("row"), default=1)
    access_key = models.CharField(max_length=64, unique=True, default=new_access_key, editable=False)

    # Attachment 1 roster
    name = models.CharField(_("name"), max_length=50)
    # Encrypted at rest; found and kept unique through its keyed hash (set together by
    # registration.services.personal_data.trainee_set_id_number). The masked copy outlives the retention purge.
    id_number = EncryptedCharField(_("ID number"), max_length=18, blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_masked = models.CharField(_("ID number (masked)"), max_length=18, blank=True, editable=False)
    mobile = models.CharField(_("mobile number"), max_length=11, db_index=True)
    email = models.EmailField(_("e-mail"), blank=True)
    certificate_type = models.CharField(_("certificate type"), max_length=20, choices=CertificateType.choices)
    training_category = models.CharField(
        _("training category"), max_length=12, choices=TrainingCategory.choices
    )
    previous_certificate_no = models.CharField(_("previous certificate number"), max_length=40, blank=True)

    # Attachment 2
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    education = models.CharField(_("education"), max_length=20, choices=Education.choices, blank=True)
    safety_years = models.PositiveSmallIntegerField(
        _("years in safety work"), null=True, blank=True, validators=[MaxValueValidator(60)]
    )
    work_unit = models.CharField(_("work unit"), max_length=120, blank=True)
    work_unit_address = models.CharField(_("work unit address"), max_length=200, blank=True)
    mailing_address = models.CharField(_("mailing address"), max_length=200, blank=True)
    landline = models.CharField(_("landline"), max_length=20, blank=True)
    work_history = models.TextField(_("work history"), blank=True, max_length=4000)
    photo = models.FileField(_("photo"), storage=private_storage, upload_to=photo_upload_to, blank=True)
    id_front = models.FileField(
        _("ID card copy (front)"), storage=private_storage, upload_to=id_copy_upload_to, blank=True
    )
    id_back = models.FileField(
        _("ID card copy (back)"), storage=private_storage, upload_to=id_copy_upload_to, blank=True
    )
    declaration_name = models.CharField(_("declaration signed as"), max_length=50, blank=True)
    declared_at = models.DateTimeField(_("declaration signed at"), null=True, blank=True)
    declared_ip = models.GenericIPAddressField(_("declaration signed from"), null=True, blank=True)

    # Review
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=TraineeStatus.choices,
        default=TraineeStatus.SUBMITTED,
        db_index=True,
    )
    status_reason = models.TextField(_("reason"), blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # A unit roster row whose person (or mobile number) already had a live registration in the
    # programme: saved like any other row, so that the anonymous submitter learns nothing, but never
    # live (outside the uniqueness rules) and never approved. Set only by
    # registration.services.applications.application_submit; reviewers reject it.
    is_duplicate = models.BooleanField(
        _("duplicate registration"), default=False, db_index=True, editable=False
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        editable=False,
    )
    duplicate_field = models.CharField(
        _("duplicated by"), max_length=12, choices=DuplicateField.choices, blank=True, editable=False
    )

    # Payment (set by the payments app through registration.services.payment.trainee_mark_paid)
    paid_at = models.DateTimeField(_("fee paid at"), null=True, blank=True, db_index=True)

    # Retention: documents and personal data deleted (registration.services.retention.trainees_purge_personal_data)
    purged_at = models.DateTimeField(_("personal data purged at"), null=True, blank=True, db_index=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("trainee")
        verbose_name_plural = _("trainees")
        ordering = ["application_id", "row_number"]
        permissions = [("view_full_id_number", _("Can see full ID numbers"))]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "mobile"],
                condition=Q(status__in=LIVE_STATUSES, purged_at__isnull=True, is_duplicate=False),
                name="trainee_one_live_mobile_per_programme",
                violation_error_message=_("This mobile number is already registered in this programme."),
            ),
            models.UniqueConstraint(
                fields=["programme", "id_number_hash"],
                condition=Q(status__in=LIVE_STATUSES, is_duplicate=False) & ~Q(id_number_hash=""),
                name="trainee_one_live_registration_per_person",
                violation_error_message=_("This person already has a live registration in this programme."),
            ),
        ]
        indexes = [models.Index(fields=["programme", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.application.reference})" if self.application_id else self.name

    @property
    def fee_fen(self) -> int:
        return self.programme.fee_fen_for(self.training_category)

    @property
    def required_hours(self) -> int:
        return self.programme.hours_for(self.training_category)

    @property
    def attachment2_complete(self) -> bool:
        required = [
            self.education,
            self.safety_years is not None,
            self.work_unit,
            self.mailing_address,
            self.work_history,
            self.photo,
            self.id_front,
            self.id_back,
            self.declared_at,
        ]
        return all(required)


class ConsentKind(models.TextChoices):
    """What a trainee separately agrees to have processed (PIPL: sensitive personal information)."""

    ID_NUMBER = "id_number", _("ID number")
    PHOTO = "photo", _("Photo")
    ID_COPY = "id_copy", _("ID card copy")
    FACE_RECOGNITION = "face_recognition", _("Face recognition (identity checks)")


class ConsentGiver(models.TextChoices):
    TRAINEE = "trainee", _("The trainee")
    CONTACT = "contact", _("The unit's contact, for the trainee")


class Consent(models.Model):
    """One consent as given: the exact text shown, its version, when and from where.

    Written by the services in the same transaction as the data it covers (never edited).
    """

    trainee = models.ForeignKey(
        Trainee, verbose_name=_("trainee"), on_delete=models.CASCADE, related_name="consents"
    )
    kind = models.CharField(_("consent to"), max_length=20, choices=ConsentKind.choices)
    given_by = models.CharField(
        _("given by"), max_length=10, choices=ConsentGiver.choices, default=ConsentGiver.TRAINEE
    )
    text = models.TextField(_("text shown"))
    text_version = models.CharField(_("text version"), max_length=20)
    language = models.CharField(_("language"), max_length=10, blank=True)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    ip = models.GenericIPAddressField(_("given from"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["trainee_id", "given_at", "pk"]
        indexes = [models.Index(fields=["trainee", "kind"], name="registration_consent_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.trainee_id} · {self.given_at:%Y-%m-%d %H:%M}"


class ReturnReason(models.Model):
    """A preset reason reviewers pick when they return or reject a registration (editable in admin).

    The one list of presets: the trainee page, the bulk actions and the review queue all read it
    through :func:`registration.selectors.return_reasons_active`; the reviewer may add free text.
    """

    text = models.CharField(_("text"), max_length=200, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("preset return reason")
        verbose_name_plural = _("preset return reasons")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.text


# ---------------------------------------------------------------------------------------------
# Unit accounts (issue #21): a unit, identified by its unified social credit code, and its
# contacts, who log in with their mobile number and a code by SMS (no password, no User row:
# registration.units.access keeps the contact in the session). Services:
# registration.services.units.


class Unit(models.Model):
    """A unit (employer) across programmes and years, identified by its unified social credit code."""

    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("unit name"), max_length=120)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    #: Set when staff merged this (duplicate) unit into another: its applications and contacts moved.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_units",
        editable=False,
    )

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.credit_code})"


class UnitContact(models.Model):
    """A person who may log in to the unit's account with their mobile number (one row per unit
    and mobile; removing a contact deactivates the row, so the audit trail keeps its history)."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="contacts")
    mobile = models.CharField(_("mobile number"), max_length=11, db_index=True)
    name = models.CharField(_("name"), max_length=50, blank=True)
    added_by_contact = models.ForeignKey(
        "self",
        verbose_name=_("added by contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    added_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("unit contact")
        verbose_name_plural = _("unit contacts")
        ordering = ["unit_id", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "mobile"], name="unit_contact_one_per_mobile"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.mobile} · {self.unit_id}"


class UnitCodePurpose(models.TextChoices):
    LOGIN = "login", _("Unit account log-in")
    CLAIM = "claim", _("Link an application to the unit account")
    RECOVER = "recover", _("Recover the links of a unit's applications")


class UnitAccessCode(models.Model):
    """A one-time 6-digit code sent to a mobile number (only its hash is stored). Issuing a new
    one revokes the number's earlier open codes of the same purpose; a right code uses it up."""

    mobile = models.CharField(_("mobile number"), max_length=11)
    purpose = models.CharField(_("purpose"), max_length=10, choices=UnitCodePurpose.choices)
    #: Recovery: the unit the credit code named. Claim: the application whose link was used.
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong code attempts"), default=0)
    used_at = models.DateTimeField(_("used or revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("unit access code")
        verbose_name_plural = _("unit access codes")
        indexes = [
            models.Index(
                fields=["mobile", "purpose", "created_at"],
                name="registration_unitcode_open",
                condition=Q(used_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"
