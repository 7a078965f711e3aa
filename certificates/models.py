"""Certificates (培训合格证书): one per passed enrollment, verification, courier mailing, bulk print.

Sections 五 and 八(三) of the notice: a trainee who passed the exam with the hours complete gets a
certificate, mailed by courier cash-on-delivery (顺丰到付) to the address of attachment 1 within
10 working days.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.storage import (  # migrations refer to <app>.models.private_storage
    private_storage,
    random_upload_path,
)
from registration.models import CertificateType, TrainingCategory


def _upload_path(folder: str, filename: str) -> str:
    return random_upload_path("certificates", folder, filename)


def pdf_upload_to(instance, filename: str) -> str:
    return _upload_path("pdf", filename)


def photo_upload_to(instance, filename: str) -> str:
    return _upload_path("photos", filename)


def seal_upload_to(instance, filename: str) -> str:
    return _upload_path("seals", filename)


def print_upload_to(instance, filename: str) -> str:
    return _upload_path("print-runs", filename)


def new_verify_key() -> str:
    return secrets.token_urlsafe(9)


class CertificateSettings(models.Model):
    """The issuer's seal, the numbering and the courier sender (one row, edited in admin).

    The issuer's name is the association's "certificate issuer" (portal's Association)."""

    seal = models.FileField(
        _("seal image"),
        storage=private_storage,
        upload_to=seal_upload_to,
        blank=True,
        help_text=_("PNG with a transparent background, printed over the issuer's name."),
    )
    number_prefix = models.CharField(
        _("certificate number prefix"),
        max_length=8,
        default="AQ",
        help_text=_("Letters before the year and serial number, e.g. AQ → AQ2026000123."),
    )
    mailing_working_days = models.PositiveSmallIntegerField(
        _("mailing promise (working days)"),
        default=10,
        help_text=_("Certificates are mailed within this many working days of passing the exam."),
    )
    sender_name = models.CharField(_("sender"), max_length=50, blank=True)
    sender_phone = models.CharField(_("sender phone"), max_length=20, blank=True)
    sender_address = models.CharField(_("sender address"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("certificate settings")
        verbose_name_plural = _("certificate settings")

    def __str__(self) -> str:
        return str(_("certificate settings"))


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")


class MailingStatus(models.TextChoices):
    PENDING = "pending", _("To be mailed")
    EXPORTED = "exported", _("Courier booked")
    MAILED = "mailed", _("Mailed")


class IssuerBatch(models.Model):
    """One list of certificates sent to the issuing authority (发证机关): when, by whom, how many.

    The certificates of the batch point at it (``Certificate.issuer_batch``); the authority's own
    certificate numbers come back later (``Certificate.issuer_number``, imported by spreadsheet)."""

    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("person", "recorded by"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    sent_on = models.DateField(_("sent to the issuer on"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    count = models.PositiveIntegerField(_("number of certificates"), default=0)

    class Meta:
        verbose_name = _("issuer batch")
        verbose_name_plural = _("issuer batches")
        ordering = ["-sent_on", "-id"]

    def __str__(self) -> str:
        return _("Issuer batch %(id)s of %(date)s (%(count)s)") % {
            "id": self.pk,
            "date": self.sent_on.isoformat() if self.sent_on else "—",
            "count": self.count,
        }


class Certificate(models.Model):
    """A training certificate. ``number`` comes from the row's id (a database sequence)."""

    enrollment = models.OneToOneField(
        "learning.Enrollment",
        verbose_name=_("enrollment"),
        related_name="certificate",
        on_delete=models.PROTECT,
    )
    number = models.CharField(_("certificate number"), max_length=20, unique=True, null=True, blank=True)
    verify_key = models.CharField(max_length=16, default=new_verify_key, editable=False)
    holder_name = models.CharField(_("holder"), max_length=50)
    id_number_masked = models.CharField(_("ID number (masked)"), max_length=18)
    certificate_type = models.CharField(_("certificate type"), max_length=20, choices=CertificateType.choices)
    training_category = models.CharField(
        _("training category"), max_length=20, choices=TrainingCategory.choices
    )
    hours = models.DecimalField(_("class hours"), max_digits=5, decimal_places=1)
    unit_name = models.CharField(_("unit"), max_length=120)
    issuer = models.CharField(_("issuer"), max_length=120)
    passed_at = models.DateTimeField(_("exam passed at"))
    issue_date = models.DateField(_("issue date"))
    issued_at = models.DateTimeField(pgettext_lazy("certificate", "issued at"), default=timezone.now)

    status = models.CharField(
        _("status"), max_length=10, choices=CertificateStatus.choices, default=CertificateStatus.VALID
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        related_name="+",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    revoke_reason = models.TextField(_("reason for revocation"), blank=True)

    photo = models.FileField(_("photo"), storage=private_storage, upload_to=photo_upload_to, blank=True)
    pdf = models.FileField(_("PDF"), storage=private_storage, upload_to=pdf_upload_to, blank=True)
    pdf_rendered_at = models.DateTimeField(_("PDF produced at"), null=True, blank=True)
    render_error = models.TextField(_("PDF problem"), blank=True)

    mail_recipient = models.CharField(_("recipient"), max_length=50)
    mail_phone = models.CharField(_("recipient phone"), max_length=20)
    mail_address = models.CharField(pgettext_lazy("certificate mailing", "mailing address"), max_length=200)
    mail_due_on = models.DateField(_("to be mailed by"), db_index=True)
    deadline_provisional = models.BooleanField(
        _("provisional deadline"),
        default=False,
        help_text=_("Counted over days without official calendar data; recomputed when they are imported."),
    )
    mailing_status = models.CharField(
        _("mailing"), max_length=10, choices=MailingStatus.choices, default=MailingStatus.PENDING
    )
    exported_at = models.DateTimeField(_("courier booked at"), null=True, blank=True)
    courier = models.CharField(_("courier"), max_length=30, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=30, blank=True)
    mailed_at = models.DateTimeField(_("mailed at"), null=True, blank=True)

    # The issuing authority: the batch this certificate was last sent in, and the authority's own
    # number once imported back (certificates.services.issuer).
    issuer_batch = models.ForeignKey(
        IssuerBatch,
        verbose_name=_("issuer batch"),
        related_name="certificates",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    issuer_number = models.CharField(
        _("issuer's certificate number"), max_length=40, unique=True, null=True, blank=True
    )

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["mailing_status", "mail_due_on"], name="cert_mailing_due"),
        ]
        permissions = [
            ("revoke_certificate", _("Can revoke certificates")),
            ("manage_mailing", _("Can export mailing lists and record tracking numbers")),
            ("print_certificates", _("Can produce bulk print runs")),
        ]

    def __str__(self) -> str:
        return f"{self.number or '—'} {self.holder_name}"


class PrintRunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Being produced")
    DONE = "done", _("Ready")
    FAILED = "failed", pgettext_lazy("print run status", "Failed")


class PrintRun(models.Model):
    """One bulk print PDF of selected certificates, produced by a Celery task with progress."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), related_name="+", on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    certificate_ids = models.JSONField(_("certificates"), default=list)
    total = models.PositiveIntegerField(_("pages"), default=0)
    done = models.PositiveIntegerField(_("pages produced"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=PrintRunStatus.choices, default=PrintRunStatus.QUEUED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    pdf = models.FileField(_("PDF"), storage=private_storage, upload_to=print_upload_to, blank=True)
    error = models.TextField(_("problem"), blank=True)

    class Meta:
        verbose_name = _("print run")
        verbose_name_plural = _("print runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return _("Print run %(id)s (%(count)s certificates)") % {"id": self.pk, "count": self.total}

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 0


def print_part_upload_to(instance, filename: str) -> str:
    return _upload_path("print-run-parts", filename)


class PrintRunPart(models.Model):
    """One chunk of a print run: its certificates, rendered into their own PDF by one worker
    process; the run's PDF joins the parts in order once all of them are there."""

    run = models.ForeignKey(
        PrintRun, verbose_name=_("print run"), related_name="parts", on_delete=models.CASCADE
    )
    index = models.PositiveIntegerField(_("part"))
    certificate_ids = models.JSONField(_("certificates"), default=list)
    pdf = models.FileField(_("PDF"), storage=private_storage, upload_to=print_part_upload_to, blank=True)
    rendered_at = models.DateTimeField(_("produced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("print run part")
        verbose_name_plural = _("print run parts")
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="print_run_part_unique")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.index}"


# ---------------------------------------------------------------------------------------------
# Refresher invitations (issue #21): when a programme is open, each holder due for the refresher
# (certificates.refresher) is invited once per programme, with their unit's contacts; a holder may
# opt out. Services: certificates.services.refresher.


class RefresherInvitation(models.Model):
    """One holder invited to one programme's refresher training (at most once: unique holder and
    programme). The holder is the keyed hash of the ID number (``registration.Trainee.id_number_hash``)."""

    holder_hash = models.CharField(max_length=64, editable=False)
    certificate = models.ForeignKey(
        Certificate,
        verbose_name=_("certificate"),
        related_name="refresher_invitations",
        on_delete=models.CASCADE,
    )
    programme = models.ForeignKey(
        "registration.Programme", verbose_name=_("programme"), related_name="+", on_delete=models.CASCADE
    )
    refresher_due_on = models.DateField(_("refresher due on"))
    sent_at = models.DateTimeField(_("invited at"), default=timezone.now, db_index=True)
    channels = models.CharField(_("sent by"), max_length=40, blank=True)
    #: The event key of the holder's message (admin → 消息, the message's "notice").
    message_event = models.CharField(_("message"), max_length=200, blank=True)
    contacts_notified = models.PositiveSmallIntegerField(_("unit contacts told"), default=0)
    #: The sending run that created the row (rows another run created concurrently are not ours).
    run = models.UUIDField(editable=False, db_index=True)
    registered_trainee = models.ForeignKey(
        "registration.Trainee",
        verbose_name=_("registered as"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refresher invitation")
        verbose_name_plural = _("refresher invitations")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["holder_hash", "programme"], name="refresher_invitation_once_per_programme"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} · {self.programme_id}"


class RefresherOptOut(models.Model):
    """A holder who asked for no more refresher invitations (through the link in one)."""

    holder_hash = models.CharField(max_length=64, unique=True, editable=False)
    invitation = models.ForeignKey(
        RefresherInvitation,
        verbose_name=_("from invitation"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("opted out at"), default=timezone.now)
    ip = models.GenericIPAddressField(_("from"), null=True, blank=True)

    class Meta:
        verbose_name = _("refresher opt-out")
        verbose_name_plural = _("refresher opt-outs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d}"


# ---------------------------------------------------------------------------------------------
# 一人一档 (issue #23): one PDF per trainee (certificates.dossier); a bulk run per programme writes
# every trainee's PDF into one zip, produced by a Celery task with progress (like print runs).


def dossier_upload_to(instance, filename: str) -> str:
    return _upload_path("dossier-runs", filename)


class DossierRun(models.Model):
    """The one-person files of a programme's trainees in one zip, produced by a Celery task."""

    programme = models.ForeignKey(
        "registration.Programme", verbose_name=_("programme"), related_name="+", on_delete=models.PROTECT
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), related_name="+", on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    trainee_ids = models.JSONField(_("trainees"), default=list)
    full_id = models.BooleanField(_("full ID numbers"), default=False)
    total = models.PositiveIntegerField(_("files"), default=0)
    done = models.PositiveIntegerField(_("files produced"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=PrintRunStatus.choices, default=PrintRunStatus.QUEUED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    archive = models.FileField(
        _("zip file"), storage=private_storage, upload_to=dossier_upload_to, blank=True
    )
    error = models.TextField(_("problem"), blank=True)

    class Meta:
        verbose_name = _("one-person file run")
        verbose_name_plural = _("one-person file runs")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("download_dossier", _("Can download one-person files (一人一档)")),
            # Marks the inspector (portal.roles): every admin page such a user opens is audited.
            ("audited_reader", _("Every admin page opened is audited (inspector)")),
        ]

    def __str__(self) -> str:
        return _("One-person files %(id)s (%(count)s trainees)") % {"id": self.pk, "count": self.total}

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 0
