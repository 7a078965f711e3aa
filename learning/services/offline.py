"""Offline class hours (issue #23, AQ 8011-2023): staff create offline sessions of a programme; a
trainee checks in at the venue by scanning the session's QR code with their logged-in phone, or
staff import the paper sign-in sheet. The hours of a session count once per enrollment (unique
session × enrollment); the hours rule itself is in ``learning.selectors.study``."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.crypto import personal_hash
from portal.models import User
from portal.services import audit_record
from portal.spreadsheets import table_rows_read
from registration.models import Programme

from ..models import CheckInMethod, Enrollment, EnrollmentStatus, OfflineCheckIn, OfflineSession

#: A trainee may scan this long before the session starts and after it ends (late arrivals, a
#: queue at the door).
CHECKIN_GRACE = timedelta(minutes=30)

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 2000


def offline_session_validate(
    *, title: str, starts_at: datetime | None, ends_at: datetime | None, place: str, hours
) -> Decimal:
    """Check a session's fields (all the reasons at once, by field); returns the hours."""
    errors = {}
    if not (title or "").strip():
        errors["title"] = _("Give the session a title.")
    if not (place or "").strip():
        errors["place"] = _("Give the place of the session.")
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = _("The session must end after it starts.")
    try:
        hours = Decimal(hours)
    except (InvalidOperation, TypeError):
        hours = Decimal(0)
    if not Decimal("0.5") <= hours <= Decimal(24):
        errors["hours"] = _("Enter between 0.5 and 24 class hours.")
    if errors:
        raise ValidationError(errors)
    return hours


def offline_session_create(
    *,
    programme: Programme,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    hours: Decimal,
    actor: User,
    ip: str | None = None,
) -> OfflineSession:
    """A new offline session of ``programme`` (its QR token is made here); audited."""
    hours = offline_session_validate(
        title=title, starts_at=starts_at, ends_at=ends_at, place=place, hours=hours
    )
    with transaction.atomic():
        session = OfflineSession.objects.create(
            programme=programme,
            title=title.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
            place=place.strip(),
            hours=hours,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="offline_session.created",
            target=session,
            new={
                "programme": programme.pk,
                "title": session.title,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "place": session.place,
                "hours": str(hours),
            },
            ip=ip,
        )
    return session


@dataclass
class CheckInResult:
    checkin: OfflineCheckIn
    created: bool


def offline_checkin_window_error(session: OfflineSession, *, now: datetime) -> str:
    """Why the session cannot be checked in to now ("" when it can): the one place of the window."""
    if now < session.starts_at - CHECKIN_GRACE:
        return _("Check-in opens %(minutes)s minutes before the session starts (%(start)s).") % {
            "minutes": int(CHECKIN_GRACE.total_seconds() // 60),
            "start": f"{timezone.localtime(session.starts_at):%Y-%m-%d %H:%M}",
        }
    if now > session.ends_at + CHECKIN_GRACE:
        return _("This session is over: check-in closed at %(end)s.") % {
            "end": f"{timezone.localtime(session.ends_at + CHECKIN_GRACE):%Y-%m-%d %H:%M}"
        }
    return ""


def offline_session_enrollment(session: OfflineSession, user: User) -> Enrollment | None:
    """The user's active enrollment in the session's programme (``None`` when there is none)."""
    return (
        Enrollment.objects.filter(
            user=user, programme_id=session.programme_id, status=EnrollmentStatus.ACTIVE
        )
        .select_related("trainee")
        .first()
    )


def _checkin_create(
    *, session: OfflineSession, enrollment: Enrollment, method: str, actor: User | None, ip: str | None
) -> CheckInResult:
    existing = OfflineCheckIn.objects.filter(session=session, enrollment=enrollment).first()
    if existing is not None:
        return CheckInResult(existing, False)
    try:
        with transaction.atomic():
            checkin = OfflineCheckIn.objects.create(
                session=session, enrollment=enrollment, method=method, by=actor
            )
            audit_record(
                actor=actor,
                action="offline_checkin.recorded",
                target=enrollment,
                new={"session": session.pk, "method": method, "hours": str(session.hours)},
                ip=ip,
            )
    except IntegrityError:  # a second scan at the same moment
        return CheckInResult(OfflineCheckIn.objects.get(session=session, enrollment=enrollment), False)
    return CheckInResult(checkin, True)


def offline_checkin_record(
    *, session: OfflineSession, user: User, now: datetime | None = None, ip: str | None = None
) -> CheckInResult:
    """The logged-in trainee checks in by scanning the session's QR code: they need an active
    enrollment (study window open) in the session's programme, and the scan must fall within the
    session's time ± ``CHECKIN_GRACE``. Idempotent: a second scan returns the first check-in."""
    from ..selectors.enrollments import enrollment_access

    now = now or timezone.now()
    enrollment = offline_session_enrollment(session, user)
    if enrollment is None:
        raise ValidationError(
            _("You have no open study account in the programme of this session (%(programme)s).")
            % {"programme": session.programme}
        )
    existing = OfflineCheckIn.objects.filter(session=session, enrollment=enrollment).first()
    if existing is not None:
        return CheckInResult(existing, False)
    access = enrollment_access(enrollment, now=now)
    if not access.can_study:
        raise ValidationError(access.reason)
    error = offline_checkin_window_error(session, now=now)
    if error:
        raise ValidationError(error)
    return _checkin_create(
        session=session, enrollment=enrollment, method=CheckInMethod.SCAN, actor=user, ip=ip
    )


@dataclass
class ImportOutcome:
    created: int
    already: int


def offline_checkins_rows_read(upload) -> list[tuple[int, str]]:
    """``(row number, ID number or mobile)`` from the first column of an .xlsx or .csv sign-in sheet
    (a header row is skipped)."""
    if upload.size > MAX_IMPORT_BYTES:
        raise ValidationError(_("The file is larger than 2 MB."))
    rows = table_rows_read(upload.read(MAX_IMPORT_BYTES + 1), max_rows=MAX_IMPORT_ROWS, max_columns=5)
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(_("The file has more than %(max)s rows.") % {"max": MAX_IMPORT_ROWS})
    result = []
    for number, values in enumerate(rows, start=1):
        value = values[0] if values else None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = "" if value is None else str(value).strip().upper()
        if not text:
            continue
        if number == 1 and not any(ch.isdigit() for ch in text):
            continue  # the header
        result.append((number, text))
    if not result:
        raise ValidationError(_("The file is empty."))
    return result


def _enrollment_finder(session: OfflineSession):
    """A function from an ID number or a mobile to the active enrollment in the session's programme
    (``None`` when there is none); one query, whatever the number of look-ups."""
    enrollments = list(
        Enrollment.objects.filter(
            programme_id=session.programme_id, status=EnrollmentStatus.ACTIVE
        ).select_related("trainee")
    )
    by_hash = {e.trainee.id_number_hash: e for e in enrollments if e.trainee.id_number_hash}
    by_mobile = {e.trainee.mobile: e for e in enrollments}

    def find(text: str) -> Enrollment | None:
        text = (text or "").strip().upper()
        if text.isdigit() and len(text) == 11:
            return by_mobile.get(text)
        return by_hash.get(personal_hash(text)) if text else None

    return find


def offline_checkin_staff_record(
    *, session: OfflineSession, identifier: str, actor: User, ip: str | None = None
) -> CheckInResult:
    """Staff check one trainee in by hand (ID number or mobile), e.g. one whose phone failed at the
    venue. Idempotent like the scan; audited."""
    if not actor.has_perm("learning.import_offlinecheckin"):
        raise PermissionDenied(_("You may not import sign-in sheets."))
    enrollment = _enrollment_finder(session)(identifier)
    if enrollment is None:
        raise ValidationError(
            {
                "identifier": _(
                    "No trainee with an open study account in this programme has this ID number or mobile."
                )
            }
        )
    return _checkin_create(
        session=session, enrollment=enrollment, method=CheckInMethod.STAFF, actor=actor, ip=ip
    )


def offline_checkins_import(
    *, session: OfflineSession, upload, actor: User, ip: str | None = None
) -> ImportOutcome:
    """Staff import the session's sign-in sheet: one trainee per row, by ID number or mobile.
    Every row is checked first (a trainee with an active enrollment in the session's programme);
    any bad row refuses the whole sheet with every row's reason, nothing saved."""
    if not actor.has_perm("learning.import_offlinecheckin"):
        raise PermissionDenied(_("You may not import sign-in sheets."))
    rows = offline_checkins_rows_read(upload)
    find = _enrollment_finder(session)
    errors, found = [], []
    for number, text in rows:
        enrollment = find(text)
        if enrollment is None:
            errors.append(
                _(
                    "Row %(row)s: no trainee with an open study account in this programme has this ID number or mobile."
                )
                % {"row": number}
            )
        else:
            found.append(enrollment)
    if errors:
        raise ValidationError(errors)
    created = already = 0
    with transaction.atomic():
        for enrollment in {e.pk: e for e in found}.values():
            result = _checkin_create(
                session=session, enrollment=enrollment, method=CheckInMethod.IMPORT, actor=actor, ip=ip
            )
            created += result.created
            already += not result.created
        audit_record(
            actor=actor,
            action="offline_checkins.imported",
            target=session,
            new={"rows": len(rows), "created": created, "already": already},
            ip=ip,
        )
    return ImportOutcome(created, already)
