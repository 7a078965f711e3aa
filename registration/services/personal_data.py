"""Personal data in sign-up: ID numbers (encrypted at rest, found through their keyed hash), the
audit of staff seeing a full ID number, and the consents given for the data (saved with the text
as shown).
"""

from datetime import datetime

from django.utils import timezone, translation

from portal.crypto import personal_hash
from portal.models import AuditEntry, User
from portal.services import audit_record

from ..consents import CONSENT_TEXT_VERSION, consent_field_name, consent_missing_message, consent_text
from ..models import Consent, Trainee
from ..validators import id_number_mask
from .fields import Checker


def trainee_set_id_number(*, trainee: Trainee, id_number: str) -> None:
    """Put a (validated) ID number on ``trainee`` with its lookup hash and its masked copy; the
    caller saves. Every place that sets ``Trainee.id_number`` goes through here."""
    trainee.id_number = id_number or ""
    trainee.id_number_hash = personal_hash(id_number)
    trainee.id_number_masked = id_number_mask(id_number) if id_number else ""


def trainees_by_id_number(id_number: str, *, queryset=None):
    """Trainees with this ID number (exact, through the hash; the number is normalised first)."""
    queryset = Trainee.objects.all() if queryset is None else queryset
    digest = personal_hash(id_number)
    return queryset.filter(id_number_hash=digest) if digest else queryset.none()


FULL_ID_VIEW_ACTION = "trainee.view_full_id"


def trainee_full_id_view_record(
    *, trainee: Trainee, viewer: User, what: str, ip: str | None = None, trainee_ids=None
) -> AuditEntry:
    """Audit that staff saw a full ID number: who (``viewer``), when (the entry's time), what
    (``what``: the page or document; ``trainee_ids`` when a page shows several) and from where."""
    new = {"what": what}
    if trainee_ids is not None:
        new["trainee_ids"] = sorted(trainee_ids)
    return audit_record(actor=viewer, action=FULL_ID_VIEW_ACTION, target=trainee, new=new, ip=ip)


def consents_check(consents, required, *, given_by: str, checker: Checker) -> None:
    """Add to ``checker`` the message of each ``required`` consent not among ``consents``."""
    given = {str(kind) for kind in consents or ()}
    for kind in required:
        if kind not in given:
            checker.add(consent_field_name(kind), consent_missing_message(kind, given_by=given_by))


def _consents_build(
    trainees: list[Trainee], kinds, *, given_by: str, ip: str | None, now: datetime
) -> list[Consent]:
    """Consent rows for ``kinds`` and each trainee, with the text as shown (active language)."""
    language = translation.get_language() or ""
    texts = {kind: consent_text(kind, given_by=given_by) for kind in kinds}
    return [
        Consent(
            trainee=trainee,
            kind=kind,
            given_by=given_by,
            text=texts[kind],
            text_version=CONSENT_TEXT_VERSION,
            language=language,
            given_at=now,
            ip=ip or None,
        )
        for trainee in trainees
        for kind in kinds
    ]


def consents_record(
    *, trainees: list[Trainee], kinds, given_by: str, ip: str | None = None, now: datetime | None = None
) -> list[Consent]:
    """Save the consents ``kinds`` of each trainee with the text as shown in the active language.
    Call it in the transaction that saves the data the consents cover."""
    return Consent.objects.bulk_create(
        _consents_build(trainees, kinds, given_by=given_by, ip=ip, now=now or timezone.now())
    )
