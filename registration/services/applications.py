"""Attachment 1: a unit's (or a person's) application with its roster.

:func:`application_submit` checks the whole application and saves it, or raises
:class:`RosterValidationError` with every problem at once; the public individual form uses
:func:`application_submit_or_notify`. Neither tells the submitter whether somebody is registered:
the unit's roster row of a registered person is saved as a flagged duplicate (looking like any
other row, never approved), the individual's sign-up is refused quietly; either way the registered
person is told on the mobile number on file.
The field rules live here and nowhere else: the forms show them through :func:`applicant_check`,
:func:`roster_row_check` and :func:`roster_duplicates_check`. Two of them depend on the programme:
the previous certificate number of a refresher trainee is required only where the programme says
so (``Programme.previous_certificate_required``; the notice does not ask for it), and a unit whose
credit code is registered outside the programme's area (``Programme.area_code_prefix``) confirms
that it trains in the area (``area_confirmed``); the application is flagged (``outside_area``) for
the reviewers.
"""

import secrets
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.crypto import personal_hash
from portal.services import audit_record
from portal.validators import mobile_validate

from ..consents import ATTACHMENT1_CONSENTS
from ..models import (
    LIVE_STATUSES,
    ApplicantKind,
    Application,
    ConsentGiver,
    DuplicateField,
    Programme,
    Trainee,
    TraineeStatus,
    TrainingCategory,
)
from ..validators import (
    id_number_birth_date,
    id_number_gender,
    id_number_mask,
    id_number_validate,
    industry_validate,
    uscc_area_name,
    uscc_in_area,
    uscc_validate,
)
from .fields import CATEGORY_WORDS, CERTIFICATE_WORDS, Checker, phone_validate, text_clean
from .personal_data import consents_check, consents_record, trainee_set_id_number
from .units import application_unit_link

#: The most trainees one application may list: the page's roster, the Excel import and the
#: service all stop here. 1000 covers the largest unit's principal persons and safety managers in
#: one application; a bigger organisation splits its roster by branch.
MAX_ROSTER_ROWS = 1000
DUPLICATE_REFUSED_ACTION = "registration.duplicate_refused"


class RosterValidationError(ValidationError):
    """Everything wrong with a submitted application, reported at once.

    ``applicant_errors``: ``{field: [messages]}`` for the application's own fields (``"roster"``
    for the roster as a whole, ``"__all__"`` for the programme); ``row_errors``:
    ``{row number (1-based): {field: [messages]}}``. The messages of the error itself
    (``.messages``) are full sentences naming the field and, for the roster, the row
    (“第 3 行，身份证号码：…”).
    """

    def __init__(
        self,
        applicant_errors: dict[str, list[str]],
        row_errors: dict[int, dict[str, list[str]]],
    ):
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


def _applicant_clean(applicant: dict, checker: Checker, *, programme: Programme | None) -> dict:
    kind = text_clean(applicant.get("kind")) or ApplicantKind.UNIT
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
    tax_id = text_clean(applicant.get("invoice_tax_id"))
    if tax_id or kind == ApplicantKind.UNIT:
        cleaned["invoice_tax_id"] = checker.run("invoice_tax_id", uscc_validate, tax_id) or ""
    cleaned["outside_area"] = _outside_area_check(applicant, cleaned, checker, programme=programme)
    return cleaned


def application_outside_area(*, programme: Programme, kind: str, tax_id: str) -> bool:
    """Whether a unit's (valid) credit code is registered outside the programme's area."""
    prefix = programme.area_code_prefix
    return bool(prefix and tax_id and kind == ApplicantKind.UNIT and not uscc_in_area(tax_id, prefix=prefix))


def _outside_area_check(applicant: dict, cleaned: dict, checker: Checker, *, programme) -> bool:
    """The training is for units in the programme's area: a unit whose credit code is registered
    elsewhere confirms that it trains in the area (``area_confirmed``)."""
    if programme is None or not application_outside_area(
        programme=programme, kind=cleaned["kind"], tax_id=cleaned["invoice_tax_id"]
    ):
        return False
    if not applicant.get("area_confirmed"):
        checker.add(
            "area_confirmed",
            _(
                "Credit code %(code)s is registered outside %(area)s, and this training is for units in "
                "%(area)s's administrative area. Confirm that the unit's trainees work in %(area)s."
            )
            % {"code": cleaned["invoice_tax_id"], "area": uscc_area_name(programme.area_code_prefix)},
        )
    return True


def _row_clean(row: dict, checker: Checker, *, certificate_required: bool) -> dict:
    cleaned = {
        "name": checker.required("name", row.get("name"), 50),
        "id_number": checker.run("id_number", id_number_validate, row.get("id_number")) or "",
        "mobile": "",
        "email": checker.email("email", row.get("email")),
        "certificate_type": CERTIFICATE_WORDS.get(text_clean(row.get("certificate_type")), ""),
        "training_category": CATEGORY_WORDS.get(text_clean(row.get("training_category")), ""),
        "previous_certificate_no": text_clean(row.get("previous_certificate_no")),
    }
    if not text_clean(row.get("mobile")):
        checker.add("mobile", _("This field is required."))
    else:
        cleaned["mobile"] = checker.run("mobile", mobile_validate, row.get("mobile")) or ""
    if not cleaned["certificate_type"]:
        checker.add(
            "certificate_type", _("Choose “Principal person in charge” or “Safety production manager”.")
        )
    if not cleaned["training_category"]:
        checker.add("training_category", _("Choose “Initial training” or “Refresher training”."))
    refresher = cleaned["training_category"] == TrainingCategory.REFRESHER
    if refresher and certificate_required and not cleaned["previous_certificate_no"]:
        checker.add(
            "previous_certificate_no",
            _("Refresher training needs the number of the previous training certificate."),
        )
    elif cleaned["previous_certificate_no"]:
        checker.run("previous_certificate_no", MaxLengthValidator(40), cleaned["previous_certificate_no"])
    return cleaned


def _checked(checker: Checker, cleaned: dict) -> dict:
    if checker.errors:
        raise ValidationError(dict(checker.errors))
    return cleaned


def applicant_check(*, applicant: dict, programme: Programme | None = None) -> dict:
    """The rules of the application's own fields (``applicant`` as :func:`application_submit`
    takes it): the cleaned values, or ``ValidationError`` with ``{field: [messages]}``. Without
    the ``programme`` its area is not looked at."""
    checker = Checker()
    return _checked(checker, _applicant_clean(applicant, checker, programme=programme))


def roster_row_check(*, row: dict, programme: Programme | None = None) -> dict:
    """The rules of one roster row (a dict as in :func:`application_submit`'s ``roster``): the
    cleaned values, or ``ValidationError`` with ``{field: [messages]}``. The previous certificate
    number of a refresher trainee is required only where the ``programme`` says so."""
    checker = Checker()
    required = bool(programme and programme.previous_certificate_required)
    return _checked(checker, _row_clean(row, checker, certificate_required=required))


def roster_duplicates_check(
    *, rows: list[dict], labels: list[int] | None = None
) -> dict[int, dict[str, list[str]]]:
    """The same person or mobile number twice among the cleaned ``rows``:
    ``{position (1-based): {field: [messages]}}``. The messages name the other rows by their
    ``labels`` (the row numbers the person sees; the positions by default)."""
    row_errors: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    _roster_duplicates(rows, row_errors, labels=labels)
    return {row: dict(fields) for row, fields in row_errors.items()}


def _roster_size_errors(count: int, kind: str) -> list[str]:
    if not count:
        return [_("Add at least one trainee to the roster.")]
    if kind == ApplicantKind.INDIVIDUAL and count != 1:
        return [_("An individual registration has exactly one trainee.")]
    if count > MAX_ROSTER_ROWS:
        return [
            _("A roster can have at most %(max)s rows; split it into several applications.")
            % {"max": MAX_ROSTER_ROWS}
        ]
    return []


def roster_size_check(*, count: int, kind: str = ApplicantKind.UNIT) -> None:
    """A roster of ``count`` trainees: at least one, at most ``MAX_ROSTER_ROWS``, exactly one for
    an individual. Raises ``ValidationError`` saying what is wrong."""
    errors = _roster_size_errors(count, kind)
    if errors:
        raise ValidationError(errors, code="roster_size")


def _rows_list(rows: list[int]) -> str:
    return _(", ").join(str(row) for row in rows)


@dataclass(frozen=True)
class RegistrationConflict:
    """A roster row that collides with a live registration of the programme."""

    row: int  # 1-based
    field: str  # DuplicateField: "id_number", the person is registered; "mobile", the number is taken
    trainee_id: int  # the registration it collides with


def _roster_duplicates(rows: list[dict], row_errors, *, labels: list[int] | None = None) -> None:
    """The same person or mobile number twice in one roster (the other rows named by ``labels``)."""
    label = dict(enumerate(labels or range(1, len(rows) + 1), start=1))
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
                others = [label[other] for other in numbers if other != number]
                row_errors[number]["id_number"].append(
                    _("The same person (ID number %(id)s) is also in row %(rows)s.")
                    % {"id": id_number_mask(id_number), "rows": _rows_list(others)}
                )
    for mobile, numbers in by_mobile.items():
        if len(numbers) > 1:
            for number in numbers:
                others = [label[other] for other in numbers if other != number]
                row_errors[number]["mobile"].append(
                    _(
                        "Mobile number %(mobile)s is also given in row %(rows)s: one person, one number "
                        "(each trainee's own mobile)."
                    )
                    % {"mobile": mobile, "rows": _rows_list(others)}
                )


def _programme_conflicts(programme: Programme, rows: list[dict]) -> list[RegistrationConflict]:
    """Rows whose person or mobile number already has a live registration in the programme (one
    query; at most one conflict per row, the person first). Flagged duplicates are not live."""
    mobiles = {row["mobile"] for row in rows if row["mobile"]}
    # ID numbers are encrypted: compare their keyed hashes.
    hashes = {row["id_number"]: personal_hash(row["id_number"]) for row in rows if row["id_number"]}
    if not mobiles and not hashes:
        return []
    taken = Trainee.objects.filter(
        programme=programme, status__in=LIVE_STATUSES, purged_at__isnull=True, is_duplicate=False
    ).filter(Q(mobile__in=list(mobiles)) | Q(id_number_hash__in=list(hashes.values())))
    by_hash: dict[str, int] = {}
    by_mobile: dict[str, int] = {}
    for pk, mobile, id_hash in taken.order_by("pk").values_list("pk", "mobile", "id_number_hash"):
        if id_hash:
            by_hash.setdefault(id_hash, pk)
        by_mobile.setdefault(mobile, pk)
    conflicts = []
    for number, row in enumerate(rows, start=1):
        id_hash = hashes.get(row["id_number"]) if row["id_number"] else None
        if id_hash and id_hash in by_hash:
            conflicts.append(
                RegistrationConflict(row=number, field=DuplicateField.ID_NUMBER, trainee_id=by_hash[id_hash])
            )
        elif row["mobile"] in by_mobile:
            conflicts.append(
                RegistrationConflict(
                    row=number, field=DuplicateField.MOBILE, trainee_id=by_mobile[row["mobile"]]
                )
            )
    return conflicts


def _reference_new(programme: Programme) -> str:
    return f"{programme.year}{secrets.randbelow(900_000) + 100_000}"


def _application_create(*, programme: Programme, fields: dict, ip: str | None) -> Application:
    attempts = 6
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                application = Application.objects.create(
                    programme=programme,
                    reference=_reference_new(programme),
                    submitted_at=timezone.now(),
                    submitted_ip=ip or None,
                    **fields,
                )
                application_unit_link(application=application)  # the unit account, by credit code
                return application
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
    invoice_tax_id, invoice_email; area_confirmed, ticked when a unit registered outside the
    programme's area confirms it trains there). ``roster``: one dict per trainee (name, id_number, mobile,
    email, certificate_type, training_category, previous_certificate_no). The number of queries
    does not depend on the roster's length. On commit the contact gets the confirmation with the
    fee due and every trainee the link to their attachment 2.

    The public unit form calls this, so it must not tell anybody whether a person is registered. A
    row whose person or mobile number already has a live registration in the programme is saved
    like the others, and shown, confirmed and billed to the unit alike, but as a flagged duplicate
    (``is_duplicate``, ``duplicate_of``, ``duplicate_field``): not live (outside the one-person,
    one-number rules), never approved (:mod:`registration.services.review`), so never paid for or
    enrolled; reviewers find it in the admin and reject it. The attempt is audited against the live
    registration, whose person is told on the mobile number and e-mail on file (never the ones
    typed), as for the individual form. Only the roster's own mistakes (the same person or number
    twice in it) are reported.
    """
    application, _conflicts = _application_submit(
        programme=programme,
        applicant=applicant,
        roster=roster,
        consents=consents,
        ip=ip,
        flag_duplicates=True,
    )
    return application  # never None: duplicates are flagged, not refused


def application_submit_or_notify(
    *,
    programme: Programme,
    applicant: dict,
    roster: list[dict],
    consents=(),
    ip: str | None = None,
) -> Application | None:
    """:func:`application_submit` for the public individual form, which must not tell a visitor
    whether somebody is registered either: a row whose person or mobile number already has a live
    registration in the programme is *not* reported, and here not saved at all (an individual's
    one row would be nothing but the duplicate): the attempt is audited against that registration,
    and its person is told on the mobile number and e-mail on file (never the ones typed), with the
    link to their registration.
    Returns the new application, or ``None`` for such a refusal: the caller answers both alike.

    Every other problem (the visitor's own input) raises :class:`RosterValidationError` as usual,
    before registrations are looked at, so that its answer does not depend on them either.
    """
    application, conflicts = _application_submit(
        programme=programme,
        applicant=applicant,
        roster=roster,
        consents=consents,
        ip=ip,
        flag_duplicates=False,
    )
    if application is None:
        _duplicates_refused_record(conflicts, ip=ip)
    return application


class _RaceConflicts(Exception):
    def __init__(self, conflicts: list[RegistrationConflict]):
        super().__init__("registered in the meantime")
        self.conflicts = conflicts


def _application_submit(
    *,
    programme: Programme,
    applicant: dict,
    roster: list[dict],
    consents,
    ip: str | None,
    flag_duplicates: bool,
) -> tuple[Application | None, list[RegistrationConflict]]:
    """Check and save; rows colliding with live registrations are saved as flagged duplicates
    (``flag_duplicates``) or make it save nothing and return ``(None, conflicts)``."""
    applicant_checker = Checker()
    if not programme.is_open_on(timezone.localdate()):
        applicant_checker.add(
            "__all__",
            _("Registration for %(programme)s is not open today (it is open from %(opens)s to %(closes)s).")
            % {"programme": programme.name, "opens": programme.opens_on, "closes": programme.closes_on},
        )
    fields = _applicant_clean(applicant, applicant_checker, programme=programme)
    given_by = ConsentGiver.TRAINEE if fields["kind"] == ApplicantKind.INDIVIDUAL else ConsentGiver.CONTACT
    consents_check(consents, ATTACHMENT1_CONSENTS, given_by=given_by, checker=applicant_checker)
    roster = list(roster or [])
    for message in _roster_size_errors(len(roster), fields["kind"]):
        applicant_checker.add("roster", message)
    row_errors: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = []
    for number, row in enumerate(roster, start=1):
        checker = Checker()
        rows.append(
            _row_clean(row or {}, checker, certificate_required=programme.previous_certificate_required)
        )
        for name, messages in checker.errors.items():
            row_errors[number][name].extend(messages)
    if rows and len(rows) <= MAX_ROSTER_ROWS:
        _roster_duplicates(rows, row_errors)
    if applicant_checker.errors or row_errors:
        raise RosterValidationError(applicant_checker.errors, row_errors)
    # Registrations are looked at only now, so that no error above depends on them.
    conflicts = _programme_conflicts(programme, rows)
    if conflicts and not flag_duplicates:
        return None, conflicts

    from ..tasks import application_submitted_notify  # tasks import services

    now = timezone.now()
    try:
        with transaction.atomic():
            application = _application_create(programme=programme, fields=fields, ip=ip)
            for attempt in range(2):
                trainees = _trainees_build(application=application, rows=rows, conflicts=conflicts, now=now)
                try:
                    with transaction.atomic():
                        Trainee.objects.bulk_create(trainees)
                        consents_record(
                            trainees=trainees, kinds=ATTACHMENT1_CONSENTS, given_by=given_by, ip=ip, now=now
                        )
                    break
                except IntegrityError:
                    # Someone registered the same person or mobile in the meantime: answer as above.
                    fresh = _programme_conflicts(programme, rows)
                    if not flag_duplicates:
                        if fresh:
                            raise _RaceConflicts(fresh) from None
                        raise
                    if attempt or fresh == conflicts:
                        raise
                    conflicts = fresh
            audit_record(
                actor=None,
                action="application.submitted",
                target=application,
                new={
                    "reference": application.reference,
                    "kind": application.kind,
                    "trainees": len(trainees),
                }
                | ({"outside_area": True, "area_confirmed": True} if application.outside_area else {}),
                ip=ip,
            )
            if conflicts:
                _duplicates_refused_record(
                    conflicts, ip=ip, duplicates={trainee.row_number: trainee.pk for trainee in trainees}
                )
            application_submitted_notify.delay_on_commit(application_id=application.pk)
    except _RaceConflicts as race:
        return None, race.conflicts
    return application, conflicts


def _trainees_build(
    *, application: Application, rows: list[dict], conflicts: list[RegistrationConflict], now
) -> list[Trainee]:
    """The unsaved trainees of the cleaned ``rows``; those in ``conflicts`` flagged as duplicates."""
    conflict_of = {conflict.row: conflict for conflict in conflicts}
    trainees = []
    for number, row in enumerate(rows, start=1):
        values = dict(row)
        id_number = values.pop("id_number")
        conflict = conflict_of.get(number)
        trainee = Trainee(
            application=application,
            programme=application.programme,
            row_number=number,
            gender=id_number_gender(id_number),
            birth_date=id_number_birth_date(id_number),
            status=TraineeStatus.SUBMITTED,
            status_changed_at=now,
            is_duplicate=conflict is not None,
            duplicate_of_id=conflict.trainee_id if conflict else None,
            duplicate_field=conflict.field if conflict else "",
            **values,
        )
        trainee_set_id_number(trainee=trainee, id_number=id_number)
        trainees.append(trainee)
    return trainees


def _duplicates_refused_record(
    conflicts: list[RegistrationConflict], *, ip: str | None, duplicates: dict[int, int] | None = None
) -> None:
    """Audit a sign-up refused for colliding with live registrations (against each of them) and,
    on commit, tell each of their persons
    (:func:`registration.services.notices.trainee_duplicate_attempt_notify`). ``duplicates``:
    ``{row: trainee id}`` of the rows saved as flagged duplicates (a unit's roster), recorded too."""
    from ..tasks import trainee_duplicate_notify  # tasks import services

    with transaction.atomic():
        trainees = Trainee.objects.select_related("application").in_bulk(
            {conflict.trainee_id for conflict in conflicts}
        )
        for conflict in conflicts:
            trainee = trainees.get(conflict.trainee_id)
            if trainee is None:
                continue
            entry = audit_record(
                actor=None,
                action=DUPLICATE_REFUSED_ACTION,
                target=trainee,
                new={"field": str(conflict.field)}
                | ({"duplicate_id": duplicates[conflict.row]} if duplicates else {}),
                ip=ip,
            )
            trainee_duplicate_notify.delay_on_commit(trainee_id=trainee.pk, audit_entry_id=entry.pk)
