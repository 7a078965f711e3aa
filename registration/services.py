"""Registration services: one function per change, keyword-only, audited.

Sign-up (:func:`application_submit`, attachment 1 with its roster), a trainee's own attachment 2
(:func:`trainee_attachment2_submit`), one service per review transition, and the notices sent to
the unit's contact and the trainees after each of them commits (through ``registration.tasks``).
"""

import contextlib
import logging
import re
import secrets
from collections import defaultdict
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxLengthValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.crypto import personal_hash
from portal.models import AuditEntry, User
from portal.notifications import email_send, sms_send
from portal.services import audit_record, audit_values_redact
from portal.validators import mobile_validate

from . import documents
from .consents import (
    ATTACHMENT1_CONSENTS,
    ATTACHMENT2_CONSENTS,
    CONSENT_TEXT_VERSION,
    consent_field_name,
    consent_missing_message,
    consent_text,
)
from .models import (
    LIVE_STATUSES,
    ApplicantKind,
    Application,
    CertificateType,
    Consent,
    ConsentGiver,
    Education,
    Programme,
    Trainee,
    TraineeStatus,
    TrainingCategory,
)
from .selectors import application_fee_summary, yuan
from .signals import trainee_paid
from .validators import (
    id_number_birth_date,
    id_number_gender,
    id_number_mask,
    id_number_validate,
    industry_validate,
    uscc_validate,
)

logger = logging.getLogger("registration")

MAX_ROSTER_ROWS = 2000
NOTICE_SENT_ACTION = "registration.notice_sent"

# ---------------------------------------------------------------------------------------------
# Field checks shared by the services

_LANDLINE = re.compile(r"^(?:0\d{2,3}-?)?\d{7,8}(?:-\d{1,6})?$|^[48]00-?\d{3}-?\d{4}$")
_PHONE_SEPARATORS = re.compile(r"[\s()（）]")

# Roster spreadsheets and forms may carry the words of the notice instead of the codes.
_CERTIFICATE_WORDS = {
    CertificateType.PRINCIPAL.value: CertificateType.PRINCIPAL,
    CertificateType.SAFETY_MANAGER.value: CertificateType.SAFETY_MANAGER,
    "主要负责人": CertificateType.PRINCIPAL,
    "安全生产管理人员": CertificateType.SAFETY_MANAGER,
}
_CATEGORY_WORDS = {
    TrainingCategory.INITIAL.value: TrainingCategory.INITIAL,
    TrainingCategory.REFRESHER.value: TrainingCategory.REFRESHER,
    "初始培训": TrainingCategory.INITIAL,
    "初次培训": TrainingCategory.INITIAL,
    "再培训": TrainingCategory.REFRESHER,
    "年度再培训": TrainingCategory.REFRESHER,
}


def _messages(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


def _text(value) -> str:
    return str(value if value is not None else "").strip()


def phone_validate(value: str) -> str:
    """A mainland mobile number or a landline with its area code (``020-12345678``)."""
    raw = _PHONE_SEPARATORS.sub("", _text(value))
    if not raw:
        raise ValidationError(_("This field is required."), code="required")
    if raw.startswith(("1", "+86", "0086")):
        return mobile_validate(raw)
    if not _LANDLINE.match(raw):
        raise ValidationError(
            _("Enter a mobile number or a landline with its area code, e.g. 020-12345678."),
            code="phone_invalid",
        )
    return raw


def _is_mobile(value: str) -> str | None:
    try:
        return mobile_validate(value)
    except ValidationError:
        return None


class _Checker:
    """Collects the messages of one set of fields (``field -> [messages]``)."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = defaultdict(list)

    def add(self, name: str, message: str) -> None:
        self.errors[name].append(str(message))

    def run(self, name: str, func, value):
        try:
            return func(value)
        except ValidationError as error:
            for message in _messages(error):
                self.add(name, message)
            return None

    def required(self, name: str, value, max_length: int | None = None) -> str:
        text = _text(value)
        if not text:
            self.add(name, _("This field is required."))
        elif max_length is not None:
            self.run(name, MaxLengthValidator(max_length), text)
        return text

    def email(self, name: str, value, *, required: bool = False) -> str:
        text = _text(value)
        if not text:
            if required:
                self.add(name, _("This field is required."))
            return ""
        self.run(name, EmailValidator(), text)
        return text


# ---------------------------------------------------------------------------------------------
# ID numbers (encrypted at rest) and consents


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


def _consents_check(consents, required, *, given_by: str, checker: "_Checker") -> None:
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


# ---------------------------------------------------------------------------------------------
# Attachment 1: the application and its roster


class RosterValidationError(ValidationError):
    """Everything wrong with a submitted application, reported at once.

    ``applicant_errors``: ``{field: [messages]}`` for the application's own fields (``"roster"``
    for the roster as a whole, ``"__all__"`` for the programme); ``row_errors``:
    ``{row number (1-based): {field: [messages]}}``. The messages of the error itself
    (``.messages``) are full sentences naming the field and, for the roster, the row
    (“第 3 行，身份证号码：…”).
    """

    def __init__(self, applicant_errors: dict[str, list[str]], row_errors: dict[int, dict[str, list[str]]]):
        self.applicant_errors = {name: list(messages) for name, messages in applicant_errors.items()}
        self.row_errors = {
            row: {name: list(messages) for name, messages in fields.items()}
            for row, fields in sorted(row_errors.items())
        }
        sentences: list[str] = []
        for name, messages in self.applicant_errors.items():
            label = _field_label(Application, name)
            for message in messages:
                sentences.append(
                    _("%(field)s: %(message)s") % {"field": label, "message": message} if label else message
                )
        for row, fields in self.row_errors.items():
            for name, messages in fields.items():
                for message in messages:
                    sentences.append(
                        _("Row %(row)s, %(field)s: %(message)s")
                        % {"row": row, "field": _field_label(Trainee, name), "message": message}
                    )
        super().__init__(sentences, code="roster_invalid")


def _field_label(model, name: str) -> str:
    if name == "roster":
        return _("Roster")
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:
        return ""


def _applicant_clean(applicant: dict, checker: _Checker) -> dict:
    kind = _text(applicant.get("kind")) or ApplicantKind.UNIT
    if kind not in ApplicantKind.values:
        checker.add("kind", _("Choose a unit registration or an individual registration."))
    cleaned = {
        "kind": kind,
        "unit_name": checker.required("unit_name", applicant.get("unit_name"), 120),
        "industry": checker.run("industry", industry_validate, applicant.get("industry")) or "",
        "contact_name": checker.required("contact_name", applicant.get("contact_name"), 50),
        "contact_phone": checker.run("contact_phone", phone_validate, applicant.get("contact_phone")) or "",
        "contact_email": checker.email("contact_email", applicant.get("contact_email")),
        "mail_recipient": checker.required("mail_recipient", applicant.get("mail_recipient"), 50),
        "mail_phone": checker.run("mail_phone", phone_validate, applicant.get("mail_phone")) or "",
        "mail_address": checker.required("mail_address", applicant.get("mail_address"), 200),
        "invoice_title": checker.required("invoice_title", applicant.get("invoice_title"), 120),
        "invoice_email": checker.email("invoice_email", applicant.get("invoice_email"), required=True),
        "invoice_tax_id": "",
    }
    tax_id = _text(applicant.get("invoice_tax_id"))
    if tax_id or kind == ApplicantKind.UNIT:
        cleaned["invoice_tax_id"] = checker.run("invoice_tax_id", uscc_validate, tax_id) or ""
    return cleaned


def _row_clean(row: dict, checker: _Checker) -> dict:
    cleaned = {
        "name": checker.required("name", row.get("name"), 50),
        "id_number": checker.run("id_number", id_number_validate, row.get("id_number")) or "",
        "mobile": "",
        "email": checker.email("email", row.get("email")),
        "certificate_type": _CERTIFICATE_WORDS.get(_text(row.get("certificate_type")), ""),
        "training_category": _CATEGORY_WORDS.get(_text(row.get("training_category")), ""),
        "previous_certificate_no": _text(row.get("previous_certificate_no")),
    }
    if not _text(row.get("mobile")):
        checker.add("mobile", _("This field is required."))
    else:
        cleaned["mobile"] = checker.run("mobile", mobile_validate, row.get("mobile")) or ""
    if not cleaned["certificate_type"]:
        checker.add(
            "certificate_type", _("Choose “Principal person in charge” or “Safety production manager”.")
        )
    if not cleaned["training_category"]:
        checker.add("training_category", _("Choose “Initial training” or “Refresher training”."))
    if cleaned["training_category"] == TrainingCategory.REFRESHER and not cleaned["previous_certificate_no"]:
        checker.add(
            "previous_certificate_no",
            _("Refresher training needs the number of the previous training certificate."),
        )
    elif cleaned["previous_certificate_no"]:
        checker.run("previous_certificate_no", MaxLengthValidator(40), cleaned["previous_certificate_no"])
    return cleaned


def _rows_list(rows: list[int]) -> str:
    return _(", ").join(str(row) for row in rows)


def _roster_conflicts(programme: Programme, rows: list[dict], row_errors) -> None:
    """Duplicates within the roster and with live registrations of the programme (one query)."""
    by_mobile: dict[str, list[int]] = defaultdict(list)
    by_id: dict[str, list[int]] = defaultdict(list)
    for number, row in enumerate(rows, start=1):
        if row["mobile"]:
            by_mobile[row["mobile"]].append(number)
        if row["id_number"]:
            by_id[row["id_number"]].append(number)
    for id_number, numbers in by_id.items():
        if len(numbers) > 1:
            for number in numbers:
                others = [other for other in numbers if other != number]
                row_errors[number]["id_number"].append(
                    _("The same person (ID number %(id)s) is also in row %(rows)s.")
                    % {"id": id_number_mask(id_number), "rows": _rows_list(others)}
                )
    for mobile, numbers in by_mobile.items():
        if len(numbers) > 1:
            for number in numbers:
                others = [other for other in numbers if other != number]
                row_errors[number]["mobile"].append(
                    _(
                        "Mobile number %(mobile)s is also given in row %(rows)s: one person, one number "
                        "(each trainee's own mobile)."
                    )
                    % {"mobile": mobile, "rows": _rows_list(others)}
                )
    if not by_mobile and not by_id:
        return
    # ID numbers are encrypted: compare their keyed hashes.
    hashes = {id_number: personal_hash(id_number) for id_number in by_id}
    taken = Trainee.objects.filter(
        programme=programme, status__in=LIVE_STATUSES, purged_at__isnull=True
    ).filter(Q(mobile__in=list(by_mobile)) | Q(id_number_hash__in=list(hashes.values())))
    taken_ids = set()
    taken_mobiles: dict[str, set[str]] = defaultdict(set)
    for mobile, id_hash in taken.values_list("mobile", "id_number_hash"):
        taken_ids.add(id_hash)
        taken_mobiles[mobile].add(id_hash)
    for number, row in enumerate(rows, start=1):
        if row["id_number"] and hashes[row["id_number"]] in taken_ids:
            row_errors[number]["id_number"].append(
                _("This person already has a registration in this programme; one person registers once.")
            )
        elif row["mobile"] in taken_mobiles:
            row_errors[number]["mobile"].append(
                _(
                    "Mobile number %(mobile)s is already registered in this programme for someone else: "
                    "one person, one number (each trainee's own mobile)."
                )
                % {"mobile": row["mobile"]}
            )


def _reference_new(programme: Programme) -> str:
    return f"{programme.year}{secrets.randbelow(900_000) + 100_000}"


def _application_create(*, programme: Programme, fields: dict, ip: str | None) -> Application:
    attempts = 6
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return Application.objects.create(
                    programme=programme,
                    reference=_reference_new(programme),
                    submitted_at=timezone.now(),
                    submitted_ip=ip or None,
                    **fields,
                )
        except IntegrityError:  # reference (or access key) already taken: draw again
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def application_submit(
    *,
    programme: Programme,
    applicant: dict,
    roster: list[dict],
    consents=(),
    ip: str | None = None,
) -> Application:
    """Validate attachment 1 with its roster and save it all, or raise :class:`RosterValidationError`
    with every problem found (nothing saved).

    ``consents``: the consent kinds the submitter ticked; the ID-number consent is required
    (``registration.consents.ATTACHMENT1_CONSENTS``). For a unit the contact confirms it for the
    trainees, an individual gives their own. One :class:`Consent` per trainee is saved with the
    text shown, in the same transaction.

    ``applicant``: the application's fields (kind, unit_name, industry, contact_name,
    contact_phone, contact_email, mail_recipient, mail_phone, mail_address, invoice_title,
    invoice_tax_id, invoice_email). ``roster``: one dict per trainee (name, id_number, mobile,
    email, certificate_type, training_category, previous_certificate_no). The number of queries
    does not depend on the roster's length. On commit the contact gets the confirmation with the
    fee due and every trainee the link to their attachment 2.
    """
    applicant_checker = _Checker()
    if not programme.is_open_on(timezone.localdate()):
        applicant_checker.add(
            "__all__",
            _("Registration for %(programme)s is not open today (it is open from %(opens)s to %(closes)s).")
            % {"programme": programme.name, "opens": programme.opens_on, "closes": programme.closes_on},
        )
    fields = _applicant_clean(applicant, applicant_checker)
    given_by = ConsentGiver.TRAINEE if fields["kind"] == ApplicantKind.INDIVIDUAL else ConsentGiver.CONTACT
    _consents_check(consents, ATTACHMENT1_CONSENTS, given_by=given_by, checker=applicant_checker)
    roster = list(roster or [])
    if not roster:
        applicant_checker.add("roster", _("Add at least one trainee to the roster."))
    elif fields["kind"] == ApplicantKind.INDIVIDUAL and len(roster) != 1:
        applicant_checker.add("roster", _("An individual registration has exactly one trainee."))
    elif len(roster) > MAX_ROSTER_ROWS:
        applicant_checker.add(
            "roster",
            _("A roster can have at most %(max)s rows; split it into several applications.")
            % {"max": MAX_ROSTER_ROWS},
        )
    row_errors: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = []
    for number, row in enumerate(roster, start=1):
        checker = _Checker()
        rows.append(_row_clean(row or {}, checker))
        for name, messages in checker.errors.items():
            row_errors[number][name].extend(messages)
    if rows and len(rows) <= MAX_ROSTER_ROWS:
        _roster_conflicts(programme, rows, row_errors)
    if applicant_checker.errors or row_errors:
        raise RosterValidationError(applicant_checker.errors, row_errors)

    from .tasks import application_submitted_notify  # tasks import services

    now = timezone.now()
    with transaction.atomic():
        application = _application_create(programme=programme, fields=fields, ip=ip)
        trainees = []
        for number, row in enumerate(rows, start=1):
            values = dict(row)
            id_number = values.pop("id_number")
            trainee = Trainee(
                application=application,
                programme=programme,
                row_number=number,
                gender=id_number_gender(id_number),
                birth_date=id_number_birth_date(id_number),
                status=TraineeStatus.SUBMITTED,
                status_changed_at=now,
                **values,
            )
            trainee_set_id_number(trainee=trainee, id_number=id_number)
            trainees.append(trainee)
        try:
            with transaction.atomic():
                Trainee.objects.bulk_create(trainees)
                consents_record(
                    trainees=trainees, kinds=ATTACHMENT1_CONSENTS, given_by=given_by, ip=ip, now=now
                )
        except IntegrityError:
            # Someone registered the same person or mobile in the meantime: report it like above.
            _roster_conflicts(programme, rows, row_errors)
            if row_errors:
                raise RosterValidationError({}, row_errors) from None
            raise
        audit_record(
            actor=None,
            action="application.submitted",
            target=application,
            new={"reference": application.reference, "kind": application.kind, "trainees": len(trainees)},
            ip=ip,
        )
        application_submitted_notify.delay_on_commit(application_id=application.pk)
    return application


# ---------------------------------------------------------------------------------------------
# Attachment 2: the trainee's own form

ATTACHMENT2_FILES = ("photo", "id_front", "id_back")


def trainee_attachment2_submit(
    *, trainee: Trainee, data: dict, files: dict, consents=(), ip: str | None = None
) -> Trainee:
    """Save the trainee's attachment 2 (typed name, time and address as the signature).

    ``files`` maps photo / id_front / id_back to an upload, or ``None`` to keep the current file.
    ``consents``: the consent kinds the trainee ticked; all of ``ATTACHMENT2_CONSENTS`` (ID number,
    photo, ID card copy) are required and recorded (text shown, time, address) with the data.
    Only while the registration is submitted or returned; a returned one goes back to review.
    Raises ``ValidationError`` with a dict ``{field: [messages]}``.
    """
    checker = _Checker()
    _consents_check(consents, ATTACHMENT2_CONSENTS, given_by=ConsentGiver.TRAINEE, checker=checker)
    education = _text(data.get("education"))
    if not education:
        checker.add("education", _("This field is required."))
    elif education not in Education.values:
        checker.add("education", _("Choose the education level from the list."))
    safety_years = None
    raw_years = _text(data.get("safety_years"))
    if not raw_years:
        checker.add("safety_years", _("This field is required."))
    else:
        try:
            safety_years = int(raw_years)
        except ValueError:
            checker.add("safety_years", _("Enter a whole number of years."))
        else:
            if not 0 <= safety_years <= 60:
                checker.add("safety_years", _("Enter a number of years between 0 and 60."))
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
    landline = _text(data.get("landline"))
    if landline:
        cleaned["landline"] = checker.run("landline", phone_validate, landline) or ""
    declaration_name = re.sub(r"\s+", "", _text(data.get("declaration_name")))
    if not declaration_name:
        checker.add("declaration_name", _("Type your name to sign the declaration."))
    elif declaration_name != re.sub(r"\s+", "", trainee.name):
        checker.add(
            "declaration_name",
            _("Type your name exactly as registered (%(name)s) to sign the declaration.")
            % {"name": trainee.name},
        )
    new_files = {}
    for name in ATTACHMENT2_FILES:
        upload = (files or {}).get(name)
        if upload:
            clean = documents.photo_clean if name == "photo" else documents.scan_clean
            content = checker.run(name, clean, upload)
            if content is not None:
                new_files[name] = content
        elif not getattr(trainee, name):
            checker.add(
                name,
                _("Upload the photo.")
                if name == "photo"
                else _("Upload the copy of the ID card (both sides)."),
            )
    if checker.errors:
        raise ValidationError(dict(checker.errors))

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


# ---------------------------------------------------------------------------------------------
# Retention: purge documents and personal data (called by learning.retention)

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


# ---------------------------------------------------------------------------------------------
# Review transitions

_TRANSITIONS = {
    TraineeStatus.APPROVED: {TraineeStatus.SUBMITTED},
    TraineeStatus.RETURNED: {TraineeStatus.SUBMITTED},
    TraineeStatus.REJECTED: {TraineeStatus.SUBMITTED, TraineeStatus.RETURNED},
    TraineeStatus.WITHDRAWN: {TraineeStatus.SUBMITTED, TraineeStatus.RETURNED},
}


def _refused(target: str, trainee: Trainee) -> ValidationError:
    params = {"name": trainee.name, "status": trainee.get_status_display()}
    messages = {
        TraineeStatus.APPROVED: _(
            "Only a registration awaiting review can be approved; %(name)s's is “%(status)s”."
        ),
        TraineeStatus.RETURNED: _(
            "Only a registration awaiting review can be returned for correction; %(name)s's is “%(status)s”."
        ),
        TraineeStatus.REJECTED: _(
            "Only a registration awaiting review or returned for correction can be rejected; "
            "%(name)s's is “%(status)s”."
        ),
        TraineeStatus.WITHDRAWN: _(
            "Only a registration that is not yet approved can be withdrawn; %(name)s's is “%(status)s”."
        ),
    }
    return ValidationError(messages[target] % params, code="transition_refused")


def _transition(
    *,
    trainee: Trainee,
    to: str,
    actor: User | None,
    reason: str = "",
    ip: str | None,
    action: str,
    check=None,
) -> Trainee:
    from .tasks import trainee_status_notify  # tasks import services

    reason = _text(reason)
    with transaction.atomic():
        locked = Trainee.objects.select_for_update().get(pk=trainee.pk)
        if locked.status not in _TRANSITIONS[to]:
            raise _refused(to, locked)
        if check is not None:
            check(locked)
        old_status = locked.status
        locked.status = to
        locked.status_reason = reason
        locked.status_changed_at = timezone.now()
        update_fields = ["status", "status_reason", "status_changed_at", "updated_at"]
        if actor is not None and getattr(actor, "is_staff", False):
            locked.reviewed_by = actor
            update_fields.append("reviewed_by")
        locked.save(update_fields=update_fields)
        entry = audit_record(
            actor=actor,
            action=action,
            target=locked,
            old={"status": old_status},
            new={"status": to},
            reason=reason,
            ip=ip,
        )
        trainee_status_notify.delay_on_commit(trainee_id=locked.pk, audit_entry_id=entry.pk)
    return locked


def _reason_required(reason: str) -> None:
    if not _text(reason):
        raise ValidationError(
            _("Give the reason, so that the unit and the trainee know what to do."), code="reason_required"
        )


def _attachment2_required(trainee: Trainee) -> None:
    if not trainee.attachment2_complete:
        raise ValidationError(
            _(
                "%(name)s has not completed the information form (attachment 2: photo, ID card copies, "
                "declaration…); it cannot be approved yet."
            )
            % {"name": trainee.name},
            code="attachment2_incomplete",
        )


def trainee_approve(*, trainee: Trainee, reviewer: User, ip: str | None = None) -> Trainee:
    """Approve a registration awaiting review whose attachment 2 is complete."""
    return _transition(
        trainee=trainee,
        to=TraineeStatus.APPROVED,
        actor=reviewer,
        ip=ip,
        action="trainee.approved",
        check=_attachment2_required,
    )


def trainee_return(*, trainee: Trainee, reviewer: User, reason: str, ip: str | None = None) -> Trainee:
    """Return a registration for correction; the trainee corrects attachment 2 through their link."""
    _reason_required(reason)
    return _transition(
        trainee=trainee,
        to=TraineeStatus.RETURNED,
        actor=reviewer,
        reason=reason,
        ip=ip,
        action="trainee.returned",
    )


def trainee_reject(*, trainee: Trainee, reviewer: User, reason: str, ip: str | None = None) -> Trainee:
    """Reject a registration (awaiting review or returned) with the reason."""
    _reason_required(reason)
    return _transition(
        trainee=trainee,
        to=TraineeStatus.REJECTED,
        actor=reviewer,
        reason=reason,
        ip=ip,
        action="trainee.rejected",
    )


def trainee_withdraw(*, trainee: Trainee, actor: User | None = None, ip: str | None = None) -> Trainee:
    """The unit (or the person) withdraws a registration before it is approved."""
    return _transition(
        trainee=trainee, to=TraineeStatus.WITHDRAWN, actor=actor, ip=ip, action="trainee.withdrawn"
    )


# ---------------------------------------------------------------------------------------------
# Notices (run by registration.tasks after commit; idempotent)


def site_url(path: str) -> str:
    return settings.PORTAL_SITE_URL.rstrip("/") + path


def application_link(application: Application) -> str:
    return site_url(reverse("registration:application_detail", args=[application.access_key]))


def attachment2_link(trainee: Trainee) -> str:
    return site_url(reverse("registration:attachment2", args=[trainee.access_key]))


def _notice_claim(key: str) -> bool:
    """Record (once) that the notice ``key`` went out; ``False`` if it already did."""
    if AuditEntry.objects.filter(action=NOTICE_SENT_ACTION, new_value__key=key).exists():
        return False
    audit_record(actor=None, action=NOTICE_SENT_ACTION, new={"key": key})
    return True


def _contact_send(application: Application, *, subject: str, body: str, sms: str) -> None:
    email_send(to=[application.contact_email], subject=subject, body=body)
    mobile = _is_mobile(application.contact_phone)
    if mobile:
        sms_send(mobile=mobile, message=sms)


def _trainee_send(
    trainee: Trainee, *, subject: str, body: str, sms: str, skip: Application | None = None
) -> None:
    """SMS (and e-mail if given) to the trainee; with ``skip``, not to the contact's own number and
    address again (an individual is their own contact)."""
    if skip is None or trainee.mobile != _is_mobile(skip.contact_phone):
        sms_send(mobile=trainee.mobile, message=sms)
    if skip is None or trainee.email != skip.contact_email:
        email_send(to=[trainee.email], subject=subject, body=body)


def application_confirmation_send(*, application_id: int) -> bool:
    """Send the contact the confirmation with the fee due and each trainee their attachment 2
    link. Sent once: ``False`` if already sent (or the application is gone)."""
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        application = (
            Application.objects.select_for_update()
            .select_related("programme")
            .filter(pk=application_id)
            .first()
        )
        if application is None or not _notice_claim(f"application:{application.pk}:submitted"):
            return False
        trainees = list(application.trainees.order_by("row_number"))
        summary = application_fee_summary(application, trainees)
        programme = application.programme
        link = application_link(application)
        params = {
            "name": application.contact_name,
            "reference": application.reference,
            "unit": application.unit_name,
            "programme": programme.name,
            "count": summary.count,
            "initial_count": summary.count_initial,
            "initial_fee": yuan(programme.fee_initial_fen),
            "refresher_count": summary.count_refresher,
            "refresher_fee": yuan(programme.fee_refresher_fen),
            "total": yuan(summary.total_fen),
            "link": link,
        }
        lines = [
            _("%(row)s. %(name)s, %(category)s: %(fee)s yuan")
            % {
                "row": line.trainee.row_number,
                "name": line.trainee.name,
                "category": line.trainee.get_training_category_display(),
                "fee": yuan(line.fee_fen),
            }
            for line in summary.lines
        ]
        body = (
            _(
                "Dear %(name)s,\n\nWe have received registration %(reference)s of %(unit)s for %(programme)s "
                "with %(count)s trainee(s).\n\nFee due: %(initial_count)s × initial training at "
                "%(initial_fee)s yuan, %(refresher_count)s × refresher training at %(refresher_fee)s "
                "yuan; total %(total)s yuan.\n"
            )
            % params
            + "\n"
            + "\n".join(lines)
            + "\n\n"
            + _(
                "Each trainee receives a link by SMS to complete their information form (attachment 2) "
                "with the photo and the ID card copy. Staff review each registration once it is "
                "complete; pay after approval.\n\nYour application, its status and the fee: %(link)s\n"
                "Keep this link private: anyone who has it can see the application."
            )
            % params
        )
        _contact_send(
            application,
            subject=_("Registration received: %(reference)s") % params,
            body=body,
            sms=_(
                "Registration %(reference)s received: %(count)s trainee(s), fee due %(total)s yuan. "
                "Details: %(link)s"
            )
            % params,
        )
        for trainee in trainees:
            trainee_params = {
                "name": trainee.name,
                "programme": programme.name,
                "reference": application.reference,
                "link": attachment2_link(trainee),
            }
            message = (
                _(
                    "%(name)s, you are registered for %(programme)s (%(reference)s). Complete your "
                    "information form and upload your photo and ID card here: %(link)s"
                )
                % trainee_params
            )
            _trainee_send(
                trainee,
                subject=_("Complete your registration form: %(reference)s") % trainee_params,
                body=message,
                sms=message,
            )
    return True


def trainee_status_notice_send(*, trainee_id: int, audit_entry_id: int) -> bool:
    """Tell the unit's contact and the trainee about the decision recorded in the audit entry.
    Sent once per decision: ``False`` if already sent."""
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        trainee = (
            Trainee.objects.select_for_update()
            .select_related("application", "programme")
            .filter(pk=trainee_id)
            .first()
        )
        entry = AuditEntry.objects.filter(pk=audit_entry_id).first()
        if trainee is None or entry is None or not _notice_claim(f"trainee:{trainee.pk}:audit:{entry.pk}"):
            return False
        status = (entry.new_value or {}).get("status")
        application = trainee.application
        params = {
            "name": trainee.name,
            "reference": application.reference,
            "programme": trainee.programme.name,
            "reason": entry.reason,
            "fee": yuan(trainee.fee_fen),
            "link": application_link(application),
            "form_link": attachment2_link(trainee),
        }
        if status == TraineeStatus.APPROVED:
            subject = _("Registration approved: %(name)s (%(reference)s)") % params
            contact = _(
                "The registration of %(name)s (%(reference)s) for %(programme)s has been approved. "
                "Fee due: %(fee)s yuan. How to pay: %(link)s"
            )
            personal = _(
                "%(name)s, your registration for %(programme)s has been approved. Once the fee is paid "
                "your study account is opened."
            )
        elif status == TraineeStatus.RETURNED:
            subject = _("Registration returned for correction: %(name)s (%(reference)s)") % params
            contact = _(
                "The registration of %(name)s (%(reference)s) was returned for correction: %(reason)s. "
                "The trainee corrects it here: %(form_link)s"
            )
            personal = _(
                "%(name)s, your registration was returned for correction: %(reason)s. Correct your "
                "information form here: %(form_link)s"
            )
        elif status == TraineeStatus.REJECTED:
            subject = _("Registration rejected: %(name)s (%(reference)s)") % params
            contact = _("The registration of %(name)s (%(reference)s) was rejected: %(reason)s.")
            personal = _("%(name)s, your registration for %(programme)s was rejected: %(reason)s.")
        elif status == TraineeStatus.WITHDRAWN:
            subject = _("Registration withdrawn: %(name)s (%(reference)s)") % params
            contact = _("The registration of %(name)s (%(reference)s) has been withdrawn.")
            personal = _("%(name)s, your registration for %(programme)s has been withdrawn.")
        else:
            return False
        _contact_send(application, subject=subject, body=contact % params, sms=contact % params)
        _trainee_send(
            trainee, subject=subject, body=personal % params, sms=personal % params, skip=application
        )
    return True


# ---------------------------------------------------------------------------------------------
# Payment (called by the payments app)


def _send_trainee_paid(trainee_id: int) -> None:
    trainee_paid.send(sender=Trainee, trainee_id=trainee_id)


def trainee_mark_paid(
    *, trainee: Trainee, paid_at: datetime | None = None, actor: User | None = None, ip: str | None = None
) -> Trainee:
    """Record that the trainee's fee is fully paid (called by the payments app). Idempotent.

    On commit, ``registration.signals.trainee_paid`` is sent so the study account can be opened.
    """
    with transaction.atomic():
        trainee = Trainee.objects.select_for_update().get(pk=trainee.pk)
        if trainee.paid_at is not None:
            return trainee
        if trainee.status != TraineeStatus.APPROVED:
            raise ValidationError(_("Only an approved registration can be marked as paid."))
        trainee.paid_at = paid_at or timezone.now()
        trainee.save(update_fields=["paid_at", "updated_at"])
        audit_record(
            actor=actor,
            action="trainee.paid",
            target=trainee,
            old={"paid_at": None},
            new={"paid_at": trainee.paid_at.isoformat()},
            ip=ip,
        )
        transaction.on_commit(partial(_send_trainee_paid, trainee.pk))
    return trainee


def trainee_mark_unpaid(
    *, trainee: Trainee, reason: str, actor: User | None = None, ip: str | None = None
) -> Trainee:
    """Undo ``trainee_mark_paid`` (a refund before the account opened; the payments app checks that)."""
    with transaction.atomic():
        trainee = Trainee.objects.select_for_update().get(pk=trainee.pk)
        if trainee.paid_at is None:
            return trainee
        old = trainee.paid_at.isoformat()
        trainee.paid_at = None
        trainee.save(update_fields=["paid_at", "updated_at"])
        audit_record(
            actor=actor,
            action="trainee.unpaid",
            target=trainee,
            old={"paid_at": old},
            new={"paid_at": None},
            reason=reason,
            ip=ip,
        )
    return trainee
