"""Certificates: issuing, PDF rendering, revocation, courier mailing and bulk print runs.

Every status change is one function here: the row is locked, the transition checked, the change
and its audit entry written in one transaction, and follow-up work (PDF, SMS) queued on commit.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from learning.models import Enrollment, EnrollmentStatus
from learning.selectors import enrollment_study_overviews
from payments.workdays import working_days_add
from portal.models import User
from portal.notifications import sms_send
from portal.selectors import association_get
from portal.services import audit_record, audit_values_redact
from registration.validators import id_number_mask

from . import rendering
from .models import (
    Certificate,
    CertificateSettings,
    CertificateStatus,
    MailingStatus,
    PrintRun,
    PrintRunStatus,
    photo_upload_to,
)

logger = logging.getLogger(__name__)

COURIER_SF = "顺丰速运"


# ---------------------------------------------------------------------------------------------
# Settings


def certificate_settings_get() -> CertificateSettings:
    """The one settings row (created with the defaults on first use)."""
    row = CertificateSettings.objects.order_by("pk").first()
    if row is None:
        row, _created = CertificateSettings.objects.get_or_create(pk=1)
    return row


def certificate_issuer() -> str:
    """The issuing body printed on certificates: the association's "certificate issuer"."""
    association = association_get()
    if association is None or not association.certificate_issuer:
        raise ValidationError(
            _("Enter the certificate issuer in the association's settings before certificates are issued.")
        )
    return association.certificate_issuer


def number_format(*, prefix: str, year: int, serial: int) -> str:
    """``AQ`` + year + six-digit serial (the row id, from the database sequence)."""
    return f"{prefix}{year}{serial:06d}"


# ---------------------------------------------------------------------------------------------
# Issuing


@dataclass
class IssueResult:
    issued: list[Certificate] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # enrollment id -> why


def certificates_issue(*, enrollment_ids: list[int], actor: User | None = None) -> IssueResult:
    """Issue the certificates of these passed enrollments (set-based, idempotent).

    One certificate per passed enrollment however often or concurrently this runs: the enrollment
    rows are locked, the ones that already have a certificate are skipped, and the one-to-one
    constraint backs it up. Enrollments not passed, or passed without the required hours, are
    skipped with the reason (the latter audited for staff).
    """
    result = IssueResult()
    ids = sorted({int(pk) for pk in enrollment_ids})
    if not ids:
        return result
    config = certificate_settings_get()
    issuer = certificate_issuer()
    try:
        with transaction.atomic():
            enrollments = list(
                Enrollment.objects.select_for_update(of=("self",))
                .select_related("trainee", "trainee__application", "programme")
                .filter(pk__in=ids)
                .order_by("pk")
            )
            existing = set(
                Certificate.objects.filter(enrollment__in=ids).values_list("enrollment_id", flat=True)
            )
            candidates = []
            for enrollment in enrollments:
                if enrollment.pk in existing:
                    result.skipped[enrollment.pk] = "exists"
                elif enrollment.status != EnrollmentStatus.PASSED or enrollment.passed_at is None:
                    result.skipped[enrollment.pk] = "not_passed"
                else:
                    candidates.append(enrollment)
            overviews = enrollment_study_overviews(candidates)
            due_by_day: dict[date, date] = {}
            rows = []
            for enrollment in candidates:
                overview = overviews[enrollment.pk]
                if not overview.complete:
                    result.skipped[enrollment.pk] = "hours_incomplete"
                    audit_record(
                        actor=actor,
                        action="certificate.withheld",
                        target=enrollment,
                        reason=_("The exam was passed but the required class hours are not complete."),
                        new={"hours_done": str(overview.hours_done), "required": overview.required_hours},
                    )
                    continue
                passed_day = timezone.localdate(enrollment.passed_at)
                if passed_day not in due_by_day:
                    due_by_day[passed_day] = working_days_add(
                        start=passed_day, days=config.mailing_working_days
                    )
                trainee = enrollment.trainee
                application = trainee.application
                rows.append(
                    Certificate(
                        enrollment=enrollment,
                        holder_name=trainee.name,
                        id_number_masked=trainee.id_number_masked or id_number_mask(trainee.id_number),
                        certificate_type=trainee.certificate_type,
                        training_category=trainee.training_category,
                        hours=overview.required_hours,
                        unit_name=application.unit_name,
                        issuer=issuer,
                        passed_at=enrollment.passed_at,
                        issue_date=timezone.localdate(),
                        mail_recipient=application.mail_recipient,
                        mail_phone=application.mail_phone,
                        mail_address=application.mail_address,
                        mail_due_on=due_by_day[passed_day],
                    )
                )
            if not rows:
                return result
            created = Certificate.objects.bulk_create(rows)
            if any(row.pk is None for row in created):  # backends without RETURNING
                by_enrollment = dict(
                    Certificate.objects.filter(
                        enrollment__in=[row.enrollment_id for row in rows]
                    ).values_list("enrollment_id", "pk")
                )
                for row in created:
                    row.pk = row.id = by_enrollment[row.enrollment_id]
            for row in created:
                row.number = number_format(
                    prefix=config.number_prefix, year=row.issue_date.year, serial=row.pk
                )
            Certificate.objects.bulk_update(created, ["number"])
            for row in created:
                audit_record(
                    actor=actor,
                    action="certificate.issued",
                    target=row,
                    new={
                        "number": row.number,
                        "enrollment": row.enrollment_id,
                        "due": row.mail_due_on.isoformat(),
                    },
                )
            result.issued = created
            issued_ids = [row.pk for row in created]
            transaction.on_commit(lambda: _queue_after_issue(issued_ids))
    except IntegrityError:
        # A concurrent run issued one of them first: the constraint kept it single. Run again
        # for the rest (they are now all either issued or skippable).
        logger.info("Concurrent certificate issue for %s; retrying", ids)
        return certificates_issue(enrollment_ids=ids, actor=actor)
    return result


def _queue_after_issue(certificate_ids: list[int]) -> None:
    from .tasks import certificate_issued_notify, certificate_render

    for pk in certificate_ids:
        certificate_render.delay(certificate_id=pk)
        certificate_issued_notify.delay(certificate_id=pk)


def certificates_issue_missing(*, batch_size: int = 500) -> int:
    """The periodic sweep: passed enrollments without a certificate get one (catches a lost signal)."""
    ids = list(
        Enrollment.objects.filter(status=EnrollmentStatus.PASSED, certificate__isnull=True)
        .order_by("passed_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        return 0
    return len(certificates_issue(enrollment_ids=ids).issued)


def certificates_render_missing(*, batch_size: int = 200) -> int:
    """Queue the PDF of valid certificates that have none (and no recorded problem)."""
    from .tasks import certificate_render

    ids = list(
        Certificate.objects.filter(pdf="", render_error="", status=CertificateStatus.VALID)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    for pk in ids:
        certificate_render.delay(certificate_id=pk)
    return len(ids)


def certificate_issued_notify(*, certificate_id: int) -> bool:
    """SMS the holder that the certificate is ready (once: marked in the audit log)."""
    from portal.models import AuditEntry

    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update()
            .select_related("enrollment__user")
            .filter(pk=certificate_id)
            .first()
        )
        if certificate is None or certificate.status != CertificateStatus.VALID:
            return False
        already = AuditEntry.objects.filter(
            action="certificate.notified", target_id=str(certificate.pk), target_type__model="certificate"
        ).exists()
        if already:
            return False
        audit_record(actor=None, action="certificate.notified", target=certificate)
        mobile = certificate.enrollment.user.mobile
        with translation.override(settings.LANGUAGE_CODE):
            message = _(
                "Your training certificate %(number)s has been issued. Download it from your personal "
                "centre; the printed certificate will be mailed by %(due)s."
            ) % {"number": certificate.number, "due": certificate.mail_due_on.isoformat()}
        transaction.on_commit(lambda: sms_send(mobile=mobile, message=message))
    return True


# ---------------------------------------------------------------------------------------------
# The PDF


def verify_url(certificate: Certificate) -> str:
    """The public verification URL printed as the QR code (the key lets it open without the name)."""
    path = reverse("certificates:verify_number", args=[certificate.number])
    return settings.PORTAL_SITE_URL.rstrip("/") + path + "?" + urlencode({"k": certificate.verify_key})


def _read(field_file) -> bytes | None:
    if not field_file:
        return None
    try:
        with field_file.storage.open(field_file.name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def certificate_data(
    certificate: Certificate, *, seal: bytes | None, photo: bytes | None
) -> rendering.CertificateData:
    with translation.override(settings.LANGUAGE_CODE):
        return rendering.CertificateData(
            number=certificate.number,
            holder_name=certificate.holder_name,
            id_number_masked=certificate.id_number_masked,
            certificate_type_label=str(certificate.get_certificate_type_display()),
            training_category_label=str(certificate.get_training_category_display()),
            hours=certificate.hours,
            issue_date=certificate.issue_date,
            issuer=certificate.issuer,
            unit_name=certificate.unit_name,
            verify_url=verify_url(certificate),
            photo=photo,
            seal=seal,
        )


def _certificate_photo(certificate: Certificate) -> bytes | None:
    """The certificate's own normalised copy of the attachment-2 photo (made and kept on first use,
    so that a reprint does not depend on the trainee's documents being kept)."""
    own = _read(certificate.photo)
    if own:
        return own
    original = _read(certificate.enrollment.trainee.photo)
    if not original:
        return None
    try:
        normalized = rendering.normalize_photo(original)
    except rendering.InvalidImageError:
        return None
    storage = certificate.photo.storage
    name = storage.save(photo_upload_to(certificate, "photo.jpg"), ContentFile(normalized))
    if Certificate.objects.filter(pk=certificate.pk, photo="").update(photo=name):
        certificate.photo.name = name
        return normalized
    storage.delete(name)  # a concurrent render kept its copy first
    certificate.refresh_from_db(fields=["photo"])
    return _read(certificate.photo) or normalized


def certificate_render(*, certificate_id: int, force: bool = False) -> Certificate | None:
    """Produce (or re-produce with ``force``) the certificate's PDF. Idempotent."""
    certificate = Certificate.objects.select_related("enrollment__trainee").filter(pk=certificate_id).first()
    if certificate is None or (certificate.pdf and not force):
        return certificate
    config = certificate_settings_get()
    photo = _certificate_photo(certificate)
    try:
        pdf = rendering.render_certificate_pdf(
            certificate_data(certificate, seal=_read(config.seal), photo=photo)
        )
    except (rendering.UnrenderableTextError, rendering.InvalidImageError) as exc:
        Certificate.objects.filter(pk=certificate.pk).update(render_error=str(exc))
        logger.error("Certificate %s could not be rendered: %s", certificate.number, exc)
        return certificate
    old_pdf = certificate.pdf.name if certificate.pdf else ""
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.pdf and not force:  # a concurrent run finished first
            return locked
        locked.pdf.save(f"{certificate.number}.pdf", ContentFile(pdf), save=False)
        locked.pdf_rendered_at = timezone.now()
        locked.render_error = ""
        locked.save(update_fields=["pdf", "pdf_rendered_at", "render_error"])
    if old_pdf and old_pdf != locked.pdf.name:
        locked.pdf.storage.delete(old_pdf)
    return locked


def certificate_pdf_bytes(*, certificate: Certificate) -> bytes:
    """The stored PDF, produced now if the task has not run yet."""
    data = _read(certificate.pdf)
    if data:
        return data
    rendered = certificate_render(certificate_id=certificate.pk, force=bool(certificate.pdf))
    data = _read(rendered.pdf) if rendered else None
    if not data:
        raise ValidationError(_("The certificate PDF could not be produced. The association has been told."))
    return data


# ---------------------------------------------------------------------------------------------
# Revocation


def certificate_revoke(
    *, certificate: Certificate, actor: User, reason: str, ip: str | None = None
) -> Certificate:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for revoking the certificate."))
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.status == CertificateStatus.REVOKED:
            raise ValidationError(
                _("Certificate %(number)s is already revoked.") % {"number": certificate.number}
            )
        old = {"status": certificate.status}
        certificate.status = CertificateStatus.REVOKED
        certificate.revoked_at = timezone.now()
        certificate.revoked_by = actor
        certificate.revoke_reason = reason
        certificate.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
        audit_record(
            actor=actor,
            action="certificate.revoked",
            target=certificate,
            old=old,
            new={"status": certificate.status},
            reason=reason,
            ip=ip,
        )
    return certificate


# ---------------------------------------------------------------------------------------------
# Verification


def name_normalize(value: str) -> str:
    """Names compare after NFKC, without spaces and middle dots of any kind (少数民族 names)."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(ch for ch in text if not ch.isspace() and ch not in "·•‧・.")


# ---------------------------------------------------------------------------------------------
# Mailing


def _notify_mailed(certificate: Certificate) -> None:
    mobile = certificate.enrollment.user.mobile
    with translation.override(settings.LANGUAGE_CODE):
        message = _(
            "Your training certificate %(number)s has been sent by %(courier)s, tracking number "
            "%(tracking)s (cash on delivery)."
        ) % {
            "number": certificate.number,
            "courier": certificate.courier,
            "tracking": certificate.tracking_number,
        }
    transaction.on_commit(lambda: sms_send(mobile=mobile, message=message))


def tracking_number_clean(value: str) -> str:
    """An SF Express waybill number: ``SF`` and 12-13 digits, or 12-15 digits (spaces ignored)."""
    text = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", str(value or ""))).upper()
    if not re.fullmatch(r"(SF\d{12,13}|\d{12,15})", text):
        raise ValidationError(
            _("“%(value)s” is not a valid SF Express tracking number (SF and 12-13 digits, or 12-15 digits).")
            % {"value": str(value or "")[:40]}
        )
    return text


def certificate_mark_mailed(
    *,
    certificate: Certificate,
    tracking_number: str,
    actor: User,
    courier: str = COURIER_SF,
    ip: str | None = None,
) -> Certificate:
    """Record the courier's tracking number and mark the certificate mailed (SMS on commit)."""
    tracking = tracking_number_clean(tracking_number)
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(of=("self",))
            .select_related("enrollment__user")
            .get(pk=certificate.pk)
        )
        if certificate.status == CertificateStatus.REVOKED:
            raise ValidationError(
                _("Certificate %(number)s is revoked and cannot be mailed.") % {"number": certificate.number}
            )
        if certificate.mailing_status == MailingStatus.MAILED:
            if certificate.tracking_number == tracking:
                return certificate  # the same import twice changes nothing
            raise ValidationError(
                _("Certificate %(number)s was already mailed with tracking number %(tracking)s.")
                % {"number": certificate.number, "tracking": certificate.tracking_number}
            )
        old = {"mailing_status": certificate.mailing_status, "tracking_number": certificate.tracking_number}
        certificate.mailing_status = MailingStatus.MAILED
        certificate.tracking_number = tracking
        certificate.courier = courier
        certificate.mailed_at = timezone.now()
        certificate.save(update_fields=["mailing_status", "tracking_number", "courier", "mailed_at"])
        audit_record(
            actor=actor,
            action="certificate.mailed",
            target=certificate,
            old=old,
            new={"mailing_status": certificate.mailing_status, "tracking_number": tracking},
            ip=ip,
        )
        _notify_mailed(certificate)
    return certificate


@dataclass
class TrackingImportResult:
    mailed: int = 0
    unchanged: int = 0


def tracking_numbers_import(
    *, rows: list[tuple[int, str, str]], actor: User, ip: str | None = None
) -> TrackingImportResult:
    """Mark many certificates mailed from ``(row number, certificate number, tracking number)``.

    All or nothing: every row is checked first and a ``ValidationError`` lists each bad row by its
    number; nothing is saved unless the whole file is clean.
    """
    errors: list[str] = []
    cleaned: list[tuple[int, str, str]] = []
    seen_numbers: dict[str, int] = {}
    seen_tracking: dict[str, int] = {}
    for line, number, tracking in rows:
        number = str(number or "").strip().upper()
        if not number and not str(tracking or "").strip():
            continue
        if not number:
            errors.append(_("Row %(row)s: the certificate number is missing.") % {"row": line})
            continue
        try:
            tracking_clean = tracking_number_clean(tracking)
        except ValidationError as exc:
            errors.append(_("Row %(row)s: %(error)s") % {"row": line, "error": exc.messages[0]})
            continue
        if number in seen_numbers:
            errors.append(
                _("Row %(row)s: certificate %(number)s is already on row %(first)s.")
                % {"row": line, "number": number, "first": seen_numbers[number]}
            )
            continue
        if tracking_clean in seen_tracking:
            errors.append(
                _("Row %(row)s: tracking number %(tracking)s is already on row %(first)s.")
                % {"row": line, "tracking": tracking_clean, "first": seen_tracking[tracking_clean]}
            )
            continue
        seen_numbers[number] = line
        seen_tracking[tracking_clean] = line
        cleaned.append((line, number, tracking_clean))
    if not cleaned and not errors:
        raise ValidationError(_("The file holds no tracking numbers."))
    certificates = {
        row.number: row
        for row in Certificate.objects.filter(number__in=[number for _l, number, _t in cleaned])
    }
    for line, number, tracking in cleaned:
        row = certificates.get(number)
        if row is None:
            errors.append(
                _("Row %(row)s: there is no certificate %(number)s.") % {"row": line, "number": number}
            )
        elif row.status == CertificateStatus.REVOKED:
            errors.append(
                _("Row %(row)s: certificate %(number)s is revoked.") % {"row": line, "number": number}
            )
        elif row.mailing_status == MailingStatus.MAILED and row.tracking_number != tracking:
            errors.append(
                _("Row %(row)s: certificate %(number)s was already mailed with tracking number %(tracking)s.")
                % {"row": line, "number": number, "tracking": row.tracking_number}
            )
    if errors:
        raise ValidationError(errors)
    result = TrackingImportResult()
    with transaction.atomic():
        for _line, number, tracking in cleaned:
            row = certificates[number]
            if row.mailing_status == MailingStatus.MAILED:
                result.unchanged += 1
                continue
            certificate_mark_mailed(certificate=row, tracking_number=tracking, actor=actor, ip=ip)
            result.mailed += 1
    return result


def mailing_list_export(*, certificate_ids: list[int], actor: User, ip: str | None = None) -> bytes:
    """The courier booking sheet (SF Express batch order layout) for these certificates, as .xlsx.

    Revoked and already mailed certificates are left out; the others are marked "courier booked".
    Raises ``ValidationError`` when nothing is left to mail.
    """
    from .spreadsheets import mailing_workbook

    config = certificate_settings_get()
    with transaction.atomic():
        rows = list(
            Certificate.objects.select_for_update()
            .filter(pk__in=certificate_ids, status=CertificateStatus.VALID)
            .exclude(mailing_status=MailingStatus.MAILED)
            .order_by("mail_due_on", "number")
        )
        if not rows:
            raise ValidationError(_("None of the selected certificates is waiting to be mailed."))
        now = timezone.now()
        booked = [row for row in rows if row.mailing_status == MailingStatus.PENDING]
        for row in booked:
            row.mailing_status = MailingStatus.EXPORTED
            row.exported_at = now
        Certificate.objects.bulk_update(booked, ["mailing_status", "exported_at"])
        audit_record(
            actor=actor,
            action="certificate.mailing_exported",
            target=None,
            new={"certificates": [row.number for row in rows]},
            ip=ip,
        )
        association = association_get()
        return mailing_workbook(rows, config=config, sender_company=association.name if association else "")


# ---------------------------------------------------------------------------------------------
# Bulk print runs


def print_run_create(*, certificate_ids: list[int], actor: User) -> PrintRun:
    ids = list(
        Certificate.objects.filter(pk__in=certificate_ids, status=CertificateStatus.VALID)
        .order_by("number")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise ValidationError(_("Select at least one valid certificate to print."))
    with transaction.atomic():
        run = PrintRun.objects.create(requested_by=actor, certificate_ids=ids, total=len(ids))
        audit_record(actor=actor, action="certificate.print_run", target=run, new={"certificates": len(ids)})
        from .tasks import print_run_produce

        print_run_produce.delay_on_commit(print_run_id=run.pk)
    return run


def print_run_produce(*, print_run_id: int) -> PrintRun | None:
    """Render the run's certificates into one PDF, saving the progress as pages are produced.

    Idempotent: a run already done (or taken by another worker) is left alone.
    """
    with transaction.atomic():
        run = PrintRun.objects.select_for_update(skip_locked=True).filter(pk=print_run_id).first()
        if run is None or run.status in (PrintRunStatus.DONE, PrintRunStatus.FAILED):
            return run
        if (
            run.status == PrintRunStatus.RUNNING
            and run.started_at
            and (timezone.now() - run.started_at).total_seconds() < 3600
        ):
            return run  # another worker is on it
        run.status = PrintRunStatus.RUNNING
        run.started_at = timezone.now()
        run.done = 0
        run.save(update_fields=["status", "started_at", "done"])
    config = certificate_settings_get()
    seal = _read(config.seal)
    certificates = list(
        Certificate.objects.select_related("enrollment__trainee")
        .filter(pk__in=run.certificate_ids)
        .order_by("number")
    )
    items = [certificate_data(row, seal=seal, photo=_certificate_photo(row)) for row in certificates]

    def progress(done: int, total: int) -> None:
        PrintRun.objects.filter(pk=run.pk).update(done=done)

    try:
        pdf = rendering.render_certificates_pdf(items, progress=progress)
    except Exception as exc:  # the run must end visibly, whatever went wrong
        logger.exception("Print run %s failed", run.pk)
        PrintRun.objects.filter(pk=run.pk).update(
            status=PrintRunStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        run.refresh_from_db()
        return run
    run.pdf.save(f"print-run-{run.pk}.pdf", ContentFile(pdf), save=False)
    PrintRun.objects.filter(pk=run.pk).update(
        pdf=run.pdf.name, status=PrintRunStatus.DONE, done=len(items), finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def print_run_pdf(*, run: PrintRun) -> io.BufferedReader:
    if run.status != PrintRunStatus.DONE or not run.pdf:
        raise ValidationError(_("The print run is not ready yet."))
    return run.pdf.storage.open(run.pdf.name, "rb")


# ---------------------------------------------------------------------------------------------
# Retention (registered in learning.retention.RETENTION_PURGERS by apps.py)

MAILING_PURGE_ACTION = "certificate.mailing_details_purged"


def certificates_purge_mailing_details(*, trainee_ids, reason: str = "") -> list[int]:
    """Empty the copy of the mailing recipient, phone and address on the certificates of these
    purged trainees (the tracking number, dates and the certificate itself stay: the holder and
    the verification page still rely on it). Set-based, idempotent; one audit entry lists the ids."""
    ids = sorted({int(pk) for pk in trainee_ids})
    if not ids:
        return []
    with transaction.atomic():
        certificates = list(
            Certificate.objects.select_for_update()
            .filter(enrollment__trainee_id__in=ids)
            .exclude(mail_recipient="", mail_phone="", mail_address="")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not certificates:
            return []
        Certificate.objects.filter(pk__in=certificates).update(
            mail_recipient="", mail_phone="", mail_address=""
        )
        audit_values_redact(
            model=Certificate, ids=certificates, fields={"mail_recipient", "mail_phone", "mail_address"}
        )
        audit_record(
            actor=None, action=MAILING_PURGE_ACTION, new={"certificate_ids": certificates}, reason=reason
        )
    return certificates
