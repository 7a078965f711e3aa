"""The issuing authority (发证机关): the list of passed trainees sent to it as Excel, the batch
recorded as sent, and the authority's own certificate numbers imported back (all or nothing).

Full ID numbers leave in the list only for staff with ``registration.view_full_id_number`` (the
export is audited with whose numbers left, like the trainee export); the others get masked numbers.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.crypto import personal_hash
from portal.models import User
from portal.services import audit_record, audit_record_many
from registration.models import FULL_ID_PERMISSION
from registration.validators import id_number_validate

from ..models import Certificate, CertificateStatus, IssuerBatch
from .verification import name_normalize

ISSUER_NUMBER_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{3,39}")


def issuer_number_clean(value: str) -> str:
    """The issuer's certificate number: 4-40 letters, digits or hyphens (full-width and spaces
    normalised, letters upper-cased)."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", str(value or ""))).upper()
    if not ISSUER_NUMBER_RE.fullmatch(text):
        raise ValidationError(
            _(
                "“%(value)s” is not a valid certificate number of the issuer (4-40 letters, digits or hyphens)."
            )
            % {"value": str(value or "")[:40]}
        )
    return text


def _export_rows(certificates: list[Certificate], *, full_id: bool) -> list[dict]:
    with translation.override("zh-hans"):  # the list goes to a Chinese authority
        return [
            {
                "number": row.number,
                "name": row.holder_name,
                "id_number": (row.enrollment.trainee.id_number if full_id else "") or row.id_number_masked,
                "unit": row.unit_name,
                "certificate_type": str(row.get_certificate_type_display()),
                "training_category": str(row.get_training_category_display()),
                "hours": float(row.hours),
                "score": float(row.exam_score) if row.exam_score is not None else "",
                "exam_date": timezone.localdate(row.passed_at).isoformat(),
                "issuer_number": row.issuer_number or "",
            }
            for row in certificates
        ]


def issuer_export(*, certificate_ids: list[int], actor: User, ip: str | None = None) -> bytes:
    """The issuer's list of these (valid) certificates as .xlsx, in certificate number order.

    Full ID numbers only when ``actor`` may see them; either way the export is audited (with the
    trainees whose full numbers left in the file). Raises ``ValidationError`` when none is valid."""
    from exams.models import Attempt

    from ..spreadsheets import issuer_workbook

    best_score = (
        Attempt.objects.filter(enrollment=OuterRef("enrollment"), passed=True)
        .order_by("-score")
        .values("score")[:1]
    )
    certificates = list(
        Certificate.objects.filter(pk__in=certificate_ids, status=CertificateStatus.VALID)
        .select_related("enrollment__trainee")
        .annotate(exam_score=Subquery(best_score))
        .order_by("number")
    )
    if not certificates:
        raise ValidationError(_("None of the selected certificates is valid: nothing to send to the issuer."))
    full_id = actor.has_perm(FULL_ID_PERMISSION)
    new = {"certificates": [row.number for row in certificates], "full_id_numbers": full_id}
    if full_id:
        new["trainee_ids"] = sorted(row.enrollment.trainee_id for row in certificates)
    audit_record(actor=actor, action="certificate.issuer_exported", target=None, new=new, ip=ip)
    return issuer_workbook(_export_rows(certificates, full_id=full_id))


def issuer_batch_record(
    *,
    certificate_ids: list[int],
    actor: User,
    sent_on: date,
    note: str = "",
    resend: bool = False,
    ip: str | None = None,
) -> IssuerBatch:
    """Record these certificates as sent to the issuer in one new batch (audited).

    Revoked certificates are refused; certificates already sent in a batch are refused too unless
    ``resend`` confirms that they were sent again (they then move to the new batch). One audit
    entry per certificate (its previous batch and the new one)."""
    with transaction.atomic():
        certificates = list(
            Certificate.objects.select_for_update().filter(pk__in=certificate_ids).order_by("number")
        )
        if not certificates:
            raise ValidationError(_("Select the certificates sent to the issuer."))
        revoked = [row.number for row in certificates if row.status == CertificateStatus.REVOKED]
        if revoked:
            raise ValidationError(
                _("Revoked certificates are not sent to the issuer: %(numbers)s.")
                % {"numbers": ", ".join(revoked)},
                code="revoked",
            )
        already = [row for row in certificates if row.issuer_batch_id is not None]
        if already and not resend:
            raise ValidationError(
                _(
                    "Already sent to the issuer: %(numbers)s. Confirm that they were sent again, or leave "
                    "them out."
                )
                % {"numbers": ", ".join(row.number for row in already)},
                code="already_sent",
            )
        batch = IssuerBatch.objects.create(
            created_by=actor, sent_on=sent_on, note=note.strip()[:200], count=len(certificates)
        )
        previous = {row.number: row.issuer_batch_id for row in already}
        for row in certificates:
            row.issuer_batch = batch
        Certificate.objects.bulk_update(certificates, ["issuer_batch"])
        audit_record_many(
            actor=actor,
            action="certificate.sent_to_issuer",
            targets=certificates,
            old=lambda row: {"issuer_batch": previous.get(row.number)},
            new=lambda row: {"issuer_batch": batch.pk, "sent_on": sent_on.isoformat()},
            ip=ip,
        )
    return batch


@dataclass
class IssuerImportResult:
    recorded: int = 0
    unchanged: int = 0


def _id_matches(value: str, certificate: Certificate) -> bool:
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", value or "")).upper()
    if text and text == certificate.id_number_masked.upper():
        return True
    try:
        number = id_number_validate(text)
    except ValidationError:
        return False
    trainee_hash = certificate.enrollment.trainee.id_number_hash
    return bool(trainee_hash) and personal_hash(number) == trainee_hash


def _row_problem(row: dict, certificate: Certificate | None, issuer_number: str, taken: dict) -> str | None:
    params = {"row": row["row"], "number": row["number"]}
    if certificate is None:
        return _("Row %(row)s: there is no certificate %(number)s.") % params
    if certificate.status == CertificateStatus.REVOKED:
        return _("Row %(row)s: certificate %(number)s is revoked.") % params
    if name_normalize(row["name"]) != name_normalize(certificate.holder_name):
        return _("Row %(row)s: the name “%(name)s” is not the holder of certificate %(number)s.") % {
            **params,
            "name": row["name"][:50],
        }
    if not _id_matches(row["id_number"], certificate):
        return _("Row %(row)s: the ID number does not match the holder of certificate %(number)s.") % params
    if certificate.issuer_batch_id is None:
        return _("Row %(row)s: certificate %(number)s was never sent to the issuer.") % params
    if certificate.issuer_number and certificate.issuer_number != issuer_number:
        return _("Row %(row)s: certificate %(number)s already has the issuer's number %(issuer_number)s.") % {
            **params,
            "issuer_number": certificate.issuer_number,
        }
    holder = taken.get(issuer_number)
    if holder is not None and holder != certificate.number:
        return _(
            "Row %(row)s: the issuer's number %(issuer_number)s already belongs to certificate %(other)s."
        ) % {
            **params,
            "issuer_number": issuer_number,
            "other": holder,
        }
    return None


def issuer_numbers_import(*, rows: list[dict], actor: User, ip: str | None = None) -> IssuerImportResult:
    """Record the issuer's certificate numbers from the file it sent back.

    ``rows``: ``{"row", "number", "name", "id_number", "issuer_number"}`` (see
    ``certificates.spreadsheets.issuer_rows_read``). Every row is checked first - a known, valid
    certificate sent to the issuer, the holder's name and ID number, the number's format, no number
    twice in the file or held by another certificate - and a ``ValidationError`` lists each bad row;
    nothing is saved unless the whole file is clean. Each recorded number is audited."""
    errors: list[str] = []
    cleaned: list[tuple[dict, str, str]] = []
    seen_numbers: dict[str, int] = {}
    seen_issuer: dict[str, int] = {}
    for row in rows:
        line = row["row"]
        number = str(row.get("number") or "").strip().upper()
        if not number:
            errors.append(_("Row %(row)s: the certificate number is missing.") % {"row": line})
            continue
        if not str(row.get("issuer_number") or "").strip():
            errors.append(_("Row %(row)s: the issuer's certificate number is missing.") % {"row": line})
            continue
        try:
            issuer_number = issuer_number_clean(row["issuer_number"])
        except ValidationError as exc:
            errors.append(_("Row %(row)s: %(error)s") % {"row": line, "error": exc.messages[0]})
            continue
        if number in seen_numbers:
            errors.append(
                _("Row %(row)s: certificate %(number)s is already on row %(first)s.")
                % {"row": line, "number": number, "first": seen_numbers[number]}
            )
            continue
        if issuer_number in seen_issuer:
            errors.append(
                _("Row %(row)s: the issuer's number %(issuer_number)s is already on row %(first)s.")
                % {"row": line, "issuer_number": issuer_number, "first": seen_issuer[issuer_number]}
            )
            continue
        seen_numbers[number] = line
        seen_issuer[issuer_number] = line
        cleaned.append(({**row, "number": number}, number, issuer_number))
    if not cleaned and not errors:
        raise ValidationError(_("The file holds no certificate numbers of the issuer."))
    certificates = {
        row.number: row
        for row in Certificate.objects.filter(
            number__in=[number for _r, number, _i in cleaned]
        ).select_related("enrollment__trainee")
    }
    taken = dict(
        Certificate.objects.filter(issuer_number__in=[value for _r, _n, value in cleaned]).values_list(
            "issuer_number", "number"
        )
    )
    for row, number, issuer_number in cleaned:
        problem = _row_problem(row, certificates.get(number), issuer_number, taken)
        if problem:
            errors.append(problem)
    if errors:
        raise ValidationError(errors)
    result = IssuerImportResult()
    try:
        with transaction.atomic():
            locked = {
                row.number: row
                for row in Certificate.objects.select_for_update().filter(
                    pk__in=[c.pk for c in certificates.values()]
                )
            }
            for _row, number, issuer_number in cleaned:
                certificate = locked[number]
                if certificate.issuer_number == issuer_number:
                    result.unchanged += 1
                    continue
                if certificate.issuer_number:  # recorded by someone else since the check
                    raise ValidationError(
                        _("Certificate %(number)s got an issuer's number meanwhile; import the file again.")
                        % {"number": number}
                    )
                certificate.issuer_number = issuer_number
                certificate.save(update_fields=["issuer_number"])
                audit_record(
                    actor=actor,
                    action="certificate.issuer_number_recorded",
                    target=certificate,
                    old={"issuer_number": None},
                    new={"issuer_number": issuer_number},
                    ip=ip,
                )
                result.recorded += 1
    except IntegrityError:  # the same number saved by a concurrent import
        raise ValidationError(
            _(
                "An issuer's number of the file was recorded meanwhile for another certificate; import the file again."
            )
        ) from None
    return result
