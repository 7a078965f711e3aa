"""Mailing the printed certificate by courier: the SF Express booking sheet (marks the certificates
"courier booked"), tracking numbers recorded one by one or imported from SF's file (all or nothing),
each telling the holder (``certificates.services.notices``); the provisional mailing deadlines
recomputed after a calendar import (``portal.workday_calendar``)."""

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.selectors import association_get
from portal.services import audit_record
from portal.workdays import working_days_deadline

from ..models import Certificate, CertificateStatus, MailingStatus
from .config import certificate_settings_get
from .notices import certificate_mailed_notify

COURIER_SF = "顺丰速运"


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
        certificate_mailed_notify(certificate=certificate)
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
    from ..spreadsheets import mailing_workbook

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


def mailing_deadlines_recompute(*, certificate_ids: list[int]) -> int:
    """Recompute the provisional mailing deadlines of these certificates not mailed yet (after the
    calendar of a year they count over was imported); each change is audited. Idempotent: mailed,
    revoked or no longer provisional certificates are skipped. Returns how many changed."""
    config = certificate_settings_get()
    changed = 0
    with transaction.atomic():
        rows = list(
            Certificate.objects.select_for_update()
            .filter(pk__in=certificate_ids, status=CertificateStatus.VALID, deadline_provisional=True)
            .exclude(mailing_status=MailingStatus.MAILED)
            .order_by("pk")
        )
        for row in rows:
            deadline = working_days_deadline(
                start=timezone.localdate(row.passed_at), days=config.mailing_working_days
            )
            if (row.mail_due_on, row.deadline_provisional) == (deadline.date, deadline.provisional):
                continue
            old = {"mail_due_on": row.mail_due_on.isoformat(), "provisional": True}
            row.mail_due_on, row.deadline_provisional = deadline.date, deadline.provisional
            row.save(update_fields=["mail_due_on", "deadline_provisional"])
            audit_record(
                actor=None,
                action="certificate.mail_deadline_recomputed",
                target=row,
                old=old,
                new={"mail_due_on": deadline.date.isoformat(), "provisional": deadline.provisional},
                reason=_("Recomputed with the official working-day calendar."),
            )
            changed += 1
    return changed
