"""Retention: the documents and personal data of trainees, and the contact details of their
applications, purged once kept long enough (called by ``learning.retention``, which decides who
is due). Set-based and idempotent; the audit log keeps who, when and what, with the personal
values redacted.
"""

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone

from portal.models import User
from portal.services import audit_record, audit_values_redact

from ..models import Application, Trainee
from ..validators import id_number_mask

logger = logging.getLogger("registration")

PURGE_ACTION = "trainee.personal_data_purged"
# Blanked on purge. Kept: name, masked ID number, gender, certificate type / category, work unit,
# education, the status history and the consent records (proof of what was agreed).
PURGED_VALUES = {
    "id_number": "",
    "id_number_hash": "",
    "mobile": "",
    "email": "",
    "landline": "",
    "birth_date": None,
    "work_unit_address": "",
    "mailing_address": "",
    "work_history": "",
    "photo": "",
    "id_front": "",
    "id_back": "",
    "declared_ip": None,
}


def _document_files_delete(names: list[str]) -> None:
    storage = Trainee._meta.get_field("photo").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("Retention purge: could not delete %s", name)


def trainees_purge_personal_data(
    *, trainee_ids, actor: User | None = None, reason: str = "", ip: str | None = None
) -> list[int]:
    """Delete the documents (photo, ID card copies) and personal data of these trainees, keeping
    what certificate verification needs (name and the masked ID number), and mark them purged.

    Set-based (a few queries whatever the number of ids; pass batches of a few hundred); trainees
    already purged are skipped, so running it twice changes nothing. One audit entry lists the ids.
    The files are deleted once the transaction commits. Returns the ids purged now.
    """
    ids = sorted({int(pk) for pk in trainee_ids})
    if not ids:
        return []
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Trainee.objects.select_for_update()
            .filter(pk__in=ids, purged_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "photo", "id_front", "id_back", "id_number_masked")
        )
        if not rows:
            return []
        purged = [row[0] for row in rows]
        files = [name for row in rows for name in row[1:4] if name]
        unmasked = [row[0] for row in rows if not row[4]]
        if unmasked:
            # Rows written without their masked copy (older data): keep it before the number goes.
            fixes = []
            for pk, id_number in Trainee.objects.filter(pk__in=unmasked).values_list("pk", "id_number"):
                if id_number:
                    fixes.append(Trainee(pk=pk, id_number_masked=id_number_mask(id_number)))
            Trainee.objects.bulk_update(fixes, ["id_number_masked"])
        Trainee.objects.filter(pk__in=purged).update(**PURGED_VALUES, purged_at=now, updated_at=now)
        audit_values_redact(model=Trainee, ids=purged, fields=PURGED_VALUES)
        audit_record(
            actor=actor,
            action=PURGE_ACTION,
            new={"trainee_ids": purged, "files_deleted": len(files)},
            reason=reason,
            ip=ip,
        )
        transaction.on_commit(partial(_document_files_delete, files))
    return purged


APPLICATION_PURGE_ACTION = "application.personal_data_purged"
#: What the purge empties on an application: the people's contact details. The unit's name and
#: its invoice title and tax number stay (unit data, and the invoices' buyer of record).
APPLICATION_PURGED_VALUES = {
    "contact_name": "",
    "contact_phone": "",
    "contact_email": "",
    "mail_recipient": "",
    "mail_phone": "",
    "mail_address": "",
    "invoice_email": "",
    "submitted_ip": None,
}


def applications_purge_contact_data(*, trainee_ids, actor: User | None = None, reason: str = "") -> list[int]:
    """Empty the contact, mailing and e-mail details of the applications of these trainees once
    every trainee of the application is purged (an application with someone still in training, or
    not yet due, keeps them).

    Set-based, idempotent (purged applications are skipped); one audit entry lists the ids.
    Returns the ids of the applications purged now.
    """
    ids = sorted({int(pk) for pk in trainee_ids})
    if not ids:
        return []
    now = timezone.now()
    with transaction.atomic():
        candidates = Trainee.objects.filter(pk__in=ids).values("application_id")
        blocking = Trainee.objects.filter(application_id__in=candidates, purged_at__isnull=True).values(
            "application_id"
        )
        purged = list(
            Application.objects.select_for_update()
            .filter(pk__in=candidates, purged_at__isnull=True)
            .exclude(pk__in=blocking)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not purged:
            return []
        audit_values_redact(model=Application, ids=purged, fields=APPLICATION_PURGED_VALUES)
        Application.objects.filter(pk__in=purged).update(
            **APPLICATION_PURGED_VALUES, purged_at=now, updated_at=now
        )
        audit_record(
            actor=actor, action=APPLICATION_PURGE_ACTION, new={"application_ids": purged}, reason=reason
        )
    return purged
