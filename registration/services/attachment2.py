"""Attachment 2: the trainee's own information form, documents and signed declaration.

:func:`trainee_attachment2_submit` owns every rule of the form and its messages (years in safety
work, landline, the documents, the typed-name signature, the consents); the form shows them
through :func:`attachment2_check` before the images are read. One bad upload never discards the
good ones: when the form is refused, each valid document is saved on its own
(:func:`trainee_documents_keep`) and the refusal says which were kept.
"""

import contextlib
import re
from dataclasses import dataclass, field
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.services import audit_record

from .. import documents
from ..consents import ATTACHMENT2_CONSENTS
from ..models import ConsentGiver, Education, Trainee, TraineeStatus
from .fields import Checker, phone_validate, text_clean
from .personal_data import consents_check, consents_record

ATTACHMENT2_FILES = ("photo", "id_front", "id_back")
#: The most years in safety work attachment 2 accepts.
SAFETY_YEARS_MAX = 60


def _attachment2_rules(
    checker: Checker, *, trainee: Trainee, data: dict, files, consents
) -> tuple[dict, str]:
    """Check the fields, the consents and that each document is given (uploaded now or before);
    return the cleaned values and the signature. The uploads are read by the caller."""
    consents_check(consents, ATTACHMENT2_CONSENTS, given_by=ConsentGiver.TRAINEE, checker=checker)
    education = text_clean(data.get("education"))
    if not education:
        checker.add("education", _("This field is required."))
    elif education not in Education.values:
        checker.add("education", _("Choose the education level from the list."))
    safety_years = None
    raw_years = text_clean(data.get("safety_years"))
    if not raw_years:
        checker.add("safety_years", _("This field is required."))
    else:
        try:
            safety_years = int(raw_years)
        except ValueError:
            checker.add("safety_years", _("Enter a whole number of years."))
        else:
            if not 0 <= safety_years <= SAFETY_YEARS_MAX:
                checker.add(
                    "safety_years",
                    _("Enter a number of years between 0 and %(max)s.") % {"max": SAFETY_YEARS_MAX},
                )
                safety_years = None
    cleaned = {
        "education": education,
        "safety_years": safety_years,
        "work_unit": checker.required("work_unit", data.get("work_unit"), 120),
        "work_unit_address": checker.required("work_unit_address", data.get("work_unit_address"), 200),
        "mailing_address": checker.required("mailing_address", data.get("mailing_address"), 200),
        "landline": "",
        "email": checker.email("email", data.get("email")),
        "work_history": checker.required("work_history", data.get("work_history"), 4000),
    }
    landline = text_clean(data.get("landline"))
    if landline:
        cleaned["landline"] = checker.run("landline", phone_validate, landline) or ""
    declaration_name = re.sub(r"\s+", "", text_clean(data.get("declaration_name")))
    if not declaration_name:
        checker.add("declaration_name", _("Type your name to sign the declaration."))
    elif declaration_name != re.sub(r"\s+", "", trainee.name):
        checker.add(
            "declaration_name",
            _("Type your name exactly as registered (%(name)s) to sign the declaration.")
            % {"name": trainee.name},
        )
    for name in ATTACHMENT2_FILES:
        if not (files or {}).get(name) and not getattr(trainee, name):
            checker.add(
                name,
                _("Upload the photo.")
                if name == "photo"
                else _("Upload the copy of the ID card (both sides)."),
            )
    return cleaned, declaration_name


class Attachment2Refused(ValidationError):
    """The form was refused; ``kept``: the documents (of ``ATTACHMENT2_FILES``) saved all the same."""

    def __init__(self, errors: dict, *, kept: list[str]):
        super().__init__(errors)
        self.kept = kept


@dataclass
class DocumentsKept:
    """What :func:`trainee_documents_keep` did: the documents saved, and the refusal of each other."""

    kept: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _uploads_clean(checker: Checker, files) -> dict:
    """Each upload checked and re-encoded (a large phone photo scaled down); a refused one is
    reported on ``checker`` under its field and left out."""
    new_files = {}
    for name in ATTACHMENT2_FILES:
        upload = (files or {}).get(name)
        if upload:
            clean = documents.photo_clean if name == "photo" else documents.scan_clean
            content = checker.run(name, clean, upload)
            if content is not None:
                new_files[name] = content
    return new_files


def _documents_store(*, trainee: Trainee, new_files: dict, ip: str | None) -> list[str]:
    """Save ``new_files`` on the trainee alone (no declaration, no status change) while the form can
    still be changed; return the names saved (none once the registration is reviewed)."""
    if not new_files:
        return []
    written: list[tuple] = []
    try:
        with transaction.atomic():
            locked = Trainee.objects.select_for_update().get(pk=trainee.pk)
            if locked.status not in (TraineeStatus.SUBMITTED, TraineeStatus.RETURNED):
                return []
            old_files = []
            for name, content in new_files.items():
                field_file = getattr(locked, name)
                if field_file.name:
                    old_files.append((field_file.storage, field_file.name))
                field_file.save(content.name, content, save=False)
                written.append((field_file.storage, field_file.name))
            locked.save(update_fields=[*new_files, "updated_at"])
            audit_record(
                actor=None,
                action="trainee.documents_kept",
                target=locked,
                new={"files": sorted(new_files)},
                ip=ip,
            )
            transaction.on_commit(partial(_files_delete, old_files))
    except BaseException:
        _files_delete(written)
        raise
    return sorted(new_files, key=ATTACHMENT2_FILES.index)


def trainee_documents_keep(*, trainee: Trainee, files: dict, ip: str | None = None) -> DocumentsKept:
    """The rest of attachment 2 was refused (by :func:`attachment2_check`): check each upload and save
    the valid ones on the trainee so they need not be chosen again; report each refused one."""
    checker = Checker()
    new_files = _uploads_clean(checker, files)
    kept = _documents_store(trainee=trainee, new_files=new_files, ip=ip)
    return DocumentsKept(kept=kept, errors={name: list(msgs) for name, msgs in checker.errors.items()})


def attachment2_check(*, trainee: Trainee, data: dict, files: dict | None = None, consents=()) -> dict:
    """The rules of attachment 2 without reading the uploads: what the form shows before
    anything is saved (:func:`trainee_attachment2_submit` applies the same rules, then checks the
    images). Raises ``ValidationError`` with a dict ``{field: [messages]}``; returns the cleaned
    values."""
    checker = Checker()
    cleaned, declaration_name = _attachment2_rules(
        checker, trainee=trainee, data=data, files=files, consents=consents
    )
    if checker.errors:
        raise ValidationError(dict(checker.errors))
    return {**cleaned, "declaration_name": declaration_name}


def trainee_attachment2_submit(
    *, trainee: Trainee, data: dict, files: dict, consents=(), ip: str | None = None
) -> Trainee:
    """Save the trainee's attachment 2 (typed name, time and address as the signature).

    ``files`` maps photo / id_front / id_back to an upload, or ``None`` to keep the current file.
    ``consents``: the consent kinds the trainee ticked; all of ``ATTACHMENT2_CONSENTS`` (ID number,
    photo, ID card copy) are required and recorded (text shown, time, address) with the data.
    Only while the registration is submitted or returned; a returned one goes back to review.
    Raises :class:`Attachment2Refused` (a ``ValidationError`` with a dict ``{field: [messages]}``);
    the valid uploads are saved all the same and named in its ``kept``.
    """
    checker = Checker()
    cleaned, declaration_name = _attachment2_rules(
        checker, trainee=trainee, data=data, files=files, consents=consents
    )
    new_files = _uploads_clean(checker, files)
    if checker.errors:
        kept = _documents_store(trainee=trainee, new_files=new_files, ip=ip)
        raise Attachment2Refused(dict(checker.errors), kept=kept)

    written: list[tuple] = []
    try:
        with transaction.atomic():
            locked = Trainee.objects.select_for_update().get(pk=trainee.pk)
            if locked.status not in (TraineeStatus.SUBMITTED, TraineeStatus.RETURNED):
                raise ValidationError(
                    _(
                        "The information form can only be changed while the registration awaits review "
                        "or is returned for correction; it is “%(status)s”."
                    )
                    % {"status": locked.get_status_display()},
                    code="attachment2_closed",
                )
            old_files = []
            for name, content in new_files.items():
                field_file = getattr(locked, name)
                if field_file.name:
                    old_files.append((field_file.storage, field_file.name))
                field_file.save(content.name, content, save=False)
                written.append((field_file.storage, field_file.name))
            for name, value in cleaned.items():
                setattr(locked, name, value)
            locked.declaration_name = declaration_name
            locked.declared_at = timezone.now()
            locked.declared_ip = ip or None
            update_fields = [
                *cleaned,
                *new_files,
                "declaration_name",
                "declared_at",
                "declared_ip",
                "updated_at",
            ]
            old_status = locked.status
            if old_status == TraineeStatus.RETURNED:
                locked.status = TraineeStatus.SUBMITTED
                locked.status_changed_at = timezone.now()
                update_fields += ["status", "status_changed_at"]
            locked.save(update_fields=update_fields)
            consents_record(
                trainees=[locked],
                kinds=ATTACHMENT2_CONSENTS,
                given_by=ConsentGiver.TRAINEE,
                ip=ip,
                now=locked.declared_at,
            )
            audit_record(
                actor=None,
                action="trainee.attachment2_submitted",
                target=locked,
                new={"files": sorted(new_files), "declared_at": locked.declared_at.isoformat()},
                ip=ip,
            )
            if old_status != locked.status:
                audit_record(
                    actor=None,
                    action="trainee.resubmitted",
                    target=locked,
                    old={"status": old_status},
                    new={"status": locked.status},
                    ip=ip,
                )
            transaction.on_commit(partial(_files_delete, old_files))
    except BaseException:
        _files_delete(written)
        raise
    return locked


def _files_delete(files) -> None:
    for storage, name in files:
        with contextlib.suppress(OSError):
            storage.delete(name)
