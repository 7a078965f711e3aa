"""After submitting: the unit's contact corrects a trainee's roster row or adds a trainee to the
application, as long as the trainee is not yet reviewed (issue #19 point 6).

The rules are attachment 1's own (:func:`registration.services.applications.roster_row_check`);
like the sign-up form, nothing here tells whether a person or a mobile number is registered
elsewhere: a row that now collides with a live registration of the programme is saved as a
flagged duplicate (never approved; reviewers reject it) and the registered person is told, as at
sign-up. A trainee whose mobile number changed (or a new trainee) gets the attachment 2 link on
the new number after the commit.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.crypto import personal_hash
from portal.services import audit_record

from ..consents import ATTACHMENT1_CONSENTS
from ..models import (
    LIVE_STATUSES,
    ApplicantKind,
    Application,
    ConsentGiver,
    DuplicateField,
    Trainee,
    TraineeStatus,
)
from ..validators import id_number_birth_date, id_number_gender, id_number_mask
from .applications import (
    MAX_ROSTER_ROWS,
    RegistrationConflict,
    _duplicates_refused_record,
    roster_row_check,
)
from .fields import Checker
from .personal_data import consents_check, consents_record, trainee_set_id_number

#: Statuses in which the contact may still change a trainee's roster row: not yet reviewed, or
#: returned for correction.
ROSTER_EDITABLE_STATUSES = (TraineeStatus.SUBMITTED, TraineeStatus.RETURNED)
ROW_FIELDS = ("name", "mobile", "email", "certificate_type", "training_category", "previous_certificate_no")


def _refused(trainee: Trainee) -> ValidationError:
    return ValidationError(
        _(
            "The registration of %(name)s is “%(status)s”: it can no longer be changed. To correct it, "
            "contact the association."
        )
        % {"name": trainee.name, "status": trainee.get_status_display()},
        code="reviewed",
    )


def _same_application_errors(*, application: Application, row: dict, exclude: int | None) -> dict:
    """The roster's own mistake: the same person or number as another live row of the application."""
    others = Trainee.objects.filter(application=application, status__in=LIVE_STATUSES)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    errors: dict[str, list[str]] = {}
    if others.filter(mobile=row["mobile"]).exists():
        errors["mobile"] = [
            _("Mobile number %(mobile)s is already given for another trainee of this application.")
            % {"mobile": row["mobile"]}
        ]
    if row["id_number"] and others.filter(id_number_hash=personal_hash(row["id_number"])).exists():
        errors["id_number"] = [
            _("The same person (ID number %(id)s) is already in this application.")
            % {"id": id_number_mask(row["id_number"])}
        ]
    return errors


def _conflict(*, trainee: Trainee, row: dict) -> RegistrationConflict | None:
    """A live registration elsewhere in the programme with the row's person or mobile number."""
    taken = Trainee.objects.filter(
        programme_id=trainee.programme_id,
        status__in=LIVE_STATUSES,
        purged_at__isnull=True,
        is_duplicate=False,
    ).exclude(application_id=trainee.application_id)
    if trainee.pk:
        taken = taken.exclude(pk=trainee.pk)
    if row["id_number"]:
        match = taken.filter(id_number_hash=personal_hash(row["id_number"])).order_by("pk").first()
        if match is not None:
            return RegistrationConflict(
                row=trainee.row_number, field=DuplicateField.ID_NUMBER, trainee_id=match.pk
            )
    match = taken.filter(mobile=row["mobile"]).order_by("pk").first()
    if match is not None:
        return RegistrationConflict(row=trainee.row_number, field=DuplicateField.MOBILE, trainee_id=match.pk)
    return None


def _flag(trainee: Trainee, conflict: RegistrationConflict | None) -> None:
    trainee.is_duplicate = conflict is not None
    trainee.duplicate_of_id = conflict.trainee_id if conflict else None
    trainee.duplicate_field = conflict.field if conflict else ""


def _snapshot(trainee: Trainee) -> dict:
    return {
        **{name: getattr(trainee, name) for name in ROW_FIELDS},
        "id_number": trainee.id_number_masked or id_number_mask(trainee.id_number),
    }


def registration_trainee_update(*, trainee: Trainee, row: dict, ip: str | None = None) -> Trainee:
    """Correct a trainee's roster row (name, ID number, mobile, e-mail, certificate type, training
    category, previous certificate number) while it is not yet reviewed (or returned). Raises
    ``ValidationError`` (``{field: [messages]}``) for the row's mistakes, or when the trainee was
    reviewed in the meantime."""
    from ..tasks import trainee_link_notify  # tasks import services

    cleaned = roster_row_check(row=row, programme=trainee.programme)
    with transaction.atomic():
        trainee = (
            Trainee.objects.select_for_update().select_related("programme", "application").get(pk=trainee.pk)
        )
        if trainee.status not in ROSTER_EDITABLE_STATUSES:
            raise _refused(trainee)
        errors = _same_application_errors(application=trainee.application, row=cleaned, exclude=trainee.pk)
        if errors:
            raise ValidationError(errors)
        old = _snapshot(trainee)
        mobile_changed = cleaned["mobile"] != trainee.mobile
        for name in ROW_FIELDS:
            setattr(trainee, name, cleaned[name])
        trainee_set_id_number(trainee=trainee, id_number=cleaned["id_number"])
        trainee.gender = id_number_gender(cleaned["id_number"])
        trainee.birth_date = id_number_birth_date(cleaned["id_number"])
        conflict = _conflict(trainee=trainee, row=cleaned)
        _flag(trainee, conflict)
        try:
            with transaction.atomic():
                trainee.save()
        except IntegrityError:  # registered elsewhere in the meantime: flag it, as at sign-up
            conflict = _conflict(trainee=trainee, row=cleaned)
            if conflict is None:
                raise
            _flag(trainee, conflict)
            trainee.save()
        new = _snapshot(trainee)
        changed = {name: new[name] for name in new if new[name] != old[name]}
        if changed:
            audit_record(
                actor=None,
                action="trainee.roster_updated",
                target=trainee,
                old={name: old[name] for name in changed},
                new=changed,
                ip=ip,
            )
        if conflict is not None:
            _duplicates_refused_record([conflict], ip=ip, duplicates={conflict.row: trainee.pk})
        if mobile_changed:
            trainee_link_notify.delay_on_commit(trainee_id=trainee.pk, mobile=trainee.mobile)
    return trainee


def application_trainee_add(
    *, application: Application, row: dict, consents=(), ip: str | None = None
) -> Trainee:
    """Add a trainee to a unit's application while the programme's registration is open. The
    contact confirms the ID-number consent for them, as on attachment 1. Raises
    ``ValidationError`` (``{field: [messages]}``)."""
    from ..tasks import trainee_link_notify  # tasks import services

    if application.kind != ApplicantKind.UNIT:
        raise ValidationError(_("An individual registration has exactly one trainee."))
    programme = application.programme
    if not programme.is_open_on(timezone.localdate()):
        raise ValidationError(
            _("Registration for %(programme)s is closed: trainees can no longer be added.")
            % {"programme": programme.name}
        )
    checker = Checker()
    consents_check(consents, ATTACHMENT1_CONSENTS, given_by=ConsentGiver.CONTACT, checker=checker)
    try:
        cleaned = roster_row_check(row=row, programme=programme)
    except ValidationError as exc:
        raise ValidationError({**exc.message_dict, **dict(checker.errors)}) from None
    if checker.errors:
        raise ValidationError(dict(checker.errors))
    now = timezone.now()
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        count = application.trainees.count()
        if count >= MAX_ROSTER_ROWS:
            raise ValidationError(
                _("A roster can have at most %(max)s rows; split it into several applications.")
                % {"max": MAX_ROSTER_ROWS}
            )
        errors = _same_application_errors(application=application, row=cleaned, exclude=None)
        if errors:
            raise ValidationError(errors)
        last = application.trainees.aggregate(last=Max("row_number"))["last"] or 0
        values = {name: cleaned[name] for name in ROW_FIELDS}
        trainee = Trainee(
            application=application,
            programme=programme,
            row_number=last + 1,
            gender=id_number_gender(cleaned["id_number"]),
            birth_date=id_number_birth_date(cleaned["id_number"]),
            status=TraineeStatus.SUBMITTED,
            status_changed_at=now,
            **values,
        )
        trainee_set_id_number(trainee=trainee, id_number=cleaned["id_number"])
        conflict = _conflict(trainee=trainee, row=cleaned)
        _flag(trainee, conflict)
        try:
            with transaction.atomic():
                trainee.save()
        except IntegrityError:
            conflict = _conflict(trainee=trainee, row=cleaned)
            if conflict is None:
                raise
            _flag(trainee, conflict)
            trainee.save()
        consents_record(
            trainees=[trainee], kinds=ATTACHMENT1_CONSENTS, given_by=ConsentGiver.CONTACT, ip=ip, now=now
        )
        audit_record(
            actor=None, action="application.trainee_added", target=trainee, new=_snapshot(trainee), ip=ip
        )
        if conflict is not None:
            _duplicates_refused_record([conflict], ip=ip, duplicates={conflict.row: trainee.pk})
        trainee_link_notify.delay_on_commit(trainee_id=trainee.pk, mobile=trainee.mobile)
    return trainee
