"""Learning services: open study accounts, let people set their own password, run the study window.

Every function is keyword-only; status changes lock the row, check the transition, save, audit in
the same transaction and send messages on commit. The periodic jobs work set-based and are safe to
run twice or concurrently.
"""

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from portal.models import User
from portal.notifications import email_send, sms_send
from portal.services import audit_record, user_create
from portal.validators import mobile_normalize
from registration.models import Programme, Trainee, TraineeStatus

from . import selectors
from .conf import conf
from .models import (
    EXPIRABLE_STATUSES,
    EXPIRY_AUDIT_ACTION,
    AccessCode,
    AccessCodePurpose,
    Enrollment,
    EnrollmentReminder,
    EnrollmentStatus,
    Lesson,
    LessonKind,
    LessonProgress,
    RecordSource,
    RecordStatus,
    StudyRecord,
    StudyState,
    hours_to_ms,
)

logger = logging.getLogger("learning")

# EXPIRABLE_STATUSES (imported above from .models, where the partial deadline index uses them):
# the statuses the expiry job voids once the deadline passes.


@dataclass(frozen=True)
class Message:
    mobile: str
    email: str
    subject: str
    body: str


def _deliver(messages: list[Message]) -> None:
    """Send SMS and e-mail; one failing message does not stop the others (logged)."""
    for message in messages:
        try:
            sms_send(mobile=message.mobile, message=message.body)
        except Exception:  # a gateway error must not lose the other messages
            logger.exception("SMS to %s failed", message.mobile)
        if message.email:
            try:
                email_send(to=[message.email], subject=message.subject, body=message.body)
            except Exception:
                logger.exception("E-mail to %s failed", message.email)


def _site_url(path: str) -> str:
    return settings.PORTAL_SITE_URL.rstrip("/") + path


def _local(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i")


# ---------------------------------------------------------------------------------------------
# Access codes: a one-time link and a 6-digit code to set one's own password


@dataclass(frozen=True)
class IssuedCode:
    access: AccessCode
    link_token: str
    code: str

    @property
    def link_url(self) -> str:
        return _site_url(reverse("learning:activate", kwargs={"token": self.link_token}))


def _code_hash(link_hash: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{link_hash}:{code}".encode(), hashlib.sha256).hexdigest()


def access_code_issue(*, user: User, purpose: str, code_valid: timedelta) -> IssuedCode:
    """Create a new link + code for ``user`` and revoke their earlier open ones (call in a transaction)."""
    now = timezone.now()
    with transaction.atomic():
        AccessCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        token = secrets.token_urlsafe(32)
        code = f"{secrets.randbelow(1_000_000):06d}"
        link_hash = selectors.token_hash(token)
        access = AccessCode.objects.create(
            user=user,
            purpose=purpose,
            link_hash=link_hash,
            code_hash=_code_hash(link_hash, code),
            created_at=now,
            link_expires_at=now + timedelta(hours=conf("LEARNING_LINK_HOURS")),
            code_expires_at=now + code_valid,
        )
    return IssuedCode(access=access, link_token=token, code=code)


def _password_set(*, user: User, access: AccessCode, password: str, via: str, ip: str | None) -> User:
    password_validation.validate_password(password, user)
    now = timezone.now()
    user.set_password(password)
    user.save(update_fields=["password"])
    AccessCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    audit_record(
        actor=user,
        action="user.password_set",
        target=user,
        new={"via": via, "purpose": access.purpose},
        ip=ip,
    )
    transaction.on_commit(partial(_axes_reset, user.mobile))
    return user


def _axes_reset(mobile: str) -> None:
    from axes.utils import reset

    reset(username=mobile)


def password_set_by_link(*, token: str, password: str, ip: str | None = None) -> User:
    """Set the password through a one-time link; the link (and every other open code) is used up."""
    with transaction.atomic():
        access = (
            AccessCode.objects.select_for_update()
            .filter(
                link_hash=selectors.token_hash(token),
                used_at__isnull=True,
                link_expires_at__gt=timezone.now(),
            )
            .first()
        )
        if access is None or not access.user.is_active:
            raise ValidationError(_("This link is invalid, already used or expired. Ask for a new code."))
        return _password_set(user=access.user, access=access, password=password, via="link", ip=ip)


def password_set_by_code(*, mobile: str, code: str, password: str, ip: str | None = None) -> User:
    """Set the password with the mobile number and the 6-digit code sent to it.

    Wrong codes count against the code (``LEARNING_CODE_MAX_ATTEMPTS``); the error is the same
    whether the mobile number has an account or not.
    """
    wrong = ValidationError(_("The code is wrong or has expired. Ask for a new code."), code="code_invalid")
    number = mobile_normalize(mobile)
    with transaction.atomic():
        user = User.objects.filter(mobile=number, is_active=True).first()
        access = None
        if user is not None:
            access = (
                AccessCode.objects.select_for_update()
                .filter(
                    user=user,
                    used_at__isnull=True,
                    code_expires_at__gt=timezone.now(),
                    attempts__lt=conf("LEARNING_CODE_MAX_ATTEMPTS"),
                )
                .order_by("-created_at")
                .first()
            )
        matched = access is not None and hmac.compare_digest(
            access.code_hash, _code_hash(access.link_hash, (code or "").strip())
        )
        if not matched:
            if access is not None:
                access.attempts += 1
                access.save(update_fields=["attempts"])
        else:
            # Validate before using the code up, so a weak password does not burn it.
            password_validation.validate_password(password, user)
            return _password_set(user=user, access=access, password=password, via="code", ip=ip)
    raise wrong


def access_code_request(*, mobile: str, ip: str | None = None) -> bool:
    """Send a new code (valid ``LEARNING_CODE_MINUTES``) and link to a trainee's mobile (and e-mail).

    Does nothing for an unknown, inactive or staff number; callers show the same answer either
    way (no user enumeration). Returns whether something was sent (for tests and logs only).
    """
    number = mobile_normalize(mobile)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(mobile=number, is_active=True, is_staff=False).first()
        if user is None:
            return False
        purpose = AccessCodePurpose.RESET if user.has_usable_password() else AccessCodePurpose.ACTIVATE
        issued = access_code_issue(
            user=user, purpose=purpose, code_valid=timedelta(minutes=conf("LEARNING_CODE_MINUTES"))
        )
        audit_record(actor=None, action="user.access_code_sent", target=user, new={"purpose": purpose}, ip=ip)
        with translation.override(settings.LANGUAGE_CODE):
            body = _(
                "Your code to set the password of your study account is %(code)s (valid %(minutes)s minutes). "
                "Or open %(url)s . If you did not ask for it, ignore this message."
            ) % {"code": issued.code, "minutes": conf("LEARNING_CODE_MINUTES"), "url": issued.link_url}
            message = Message(user.mobile, user.email, _("Set your study account password"), body)
        transaction.on_commit(partial(_deliver, [message]))
    return True


# ---------------------------------------------------------------------------------------------
# Opening the study account


def _user_for_trainee(trainee: Trainee) -> User:
    """The trainee's log-in account: reuse the one with their mobile (a returning person), else create one
    without a password (they set their own)."""
    user = User.objects.filter(mobile=trainee.mobile).first()
    if user is None:
        try:
            with transaction.atomic():
                user = user_create(mobile=trainee.mobile, name=trainee.name, email=trainee.email)
        except (IntegrityError, ValidationError):
            user = User.objects.filter(mobile=mobile_normalize(trainee.mobile)).first()
            if user is None:
                raise
        return user
    changed = []
    if not user.name:
        user.name = trainee.name
        changed.append("name")
    if not user.email and trainee.email:
        user.email = trainee.email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
    return user


def account_open(*, trainee_id: int, actor: User | None = None) -> Enrollment:
    """Open the study account and enrollment of an approved, paid trainee. Idempotent.

    Locks the trainee row, so concurrent runs open one enrollment; an existing enrollment is
    returned unchanged (no second message). The account message is queued on commit.
    Raises ``ValidationError`` if the trainee is not (or no longer) approved and paid.
    """
    from .tasks import account_welcome_send

    with transaction.atomic():
        trainee = Trainee.objects.select_for_update().filter(pk=trainee_id).first()
        if trainee is None:
            raise ValidationError(_("This registration does not exist."))
        existing = Enrollment.objects.filter(trainee_id=trainee.pk).first()
        if existing is not None:
            return existing
        if trainee.status != TraineeStatus.APPROVED or trainee.paid_at is None:
            raise ValidationError(_("Only an approved registration whose fee is paid gets a study account."))
        programme = Programme.objects.get(pk=trainee.programme_id)
        user = _user_for_trainee(trainee)
        now = timezone.now()
        enrollment = Enrollment.objects.create(
            trainee=trainee,
            user=user,
            programme=programme,
            opened_at=now,
            deadline=now + timedelta(days=programme.study_window_days),
            status=EnrollmentStatus.ACTIVE,
            status_changed_at=now,
        )
        audit_record(
            actor=actor,
            action="enrollment.opened",
            target=enrollment,
            new={
                "user": user.mobile,
                "opened_at": now.isoformat(),
                "deadline": enrollment.deadline.isoformat(),
                "paid_at": trainee.paid_at.isoformat(),
            },
        )
        account_welcome_send.delay_on_commit(enrollment_id=enrollment.pk)
    return enrollment


def enrollment_welcome_send(*, enrollment_id: int) -> bool:
    """Send the "your account is open" SMS and e-mail once (``welcome_sent_at``), with a one-time
    link and code to set the password when the person has none yet."""
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update()
            .filter(pk=enrollment_id, welcome_sent_at__isnull=True)
            .first()
        )
        if enrollment is None:
            return False
        enrollment = Enrollment.objects.select_related("user", "trainee", "programme").get(pk=enrollment.pk)
        user, trainee = enrollment.user, enrollment.trainee
        now = timezone.now()
        with translation.override(settings.LANGUAGE_CODE):
            params = {
                "name": trainee.name,
                "programme": enrollment.programme.name,
                "mobile": user.mobile,
                "deadline": _local(enrollment.deadline),
                "days": enrollment.programme.study_window_days,
            }
            if user.has_usable_password():
                params["url"] = _site_url(reverse("portal:login"))
                params["reset_url"] = _site_url(reverse("learning:code_request"))
                body = (
                    _(
                        "%(name)s, your study account for %(programme)s is open. Log in at %(url)s with your "
                        "mobile number %(mobile)s and your existing password (forgotten it? %(reset_url)s ). "
                        "Finish study and exam by %(deadline)s (%(days)s days); after that the account is void "
                        "and fees are not refunded."
                    )
                    % params
                )
            else:
                issued = access_code_issue(
                    user=user,
                    purpose=AccessCodePurpose.ACTIVATE,
                    code_valid=timedelta(hours=conf("LEARNING_LINK_HOURS")),
                )
                params.update(
                    url=issued.link_url,
                    code=issued.code,
                    code_url=_site_url(reverse("learning:code_confirm")),
                    hours=conf("LEARNING_LINK_HOURS"),
                )
                body = (
                    _(
                        "%(name)s, your study account for %(programme)s is open. Your login is your mobile number "
                        "%(mobile)s. Set your own password within %(hours)s hours at %(url)s or enter the code "
                        "%(code)s at %(code_url)s . Finish study and exam by %(deadline)s (%(days)s days); after "
                        "that the account is void and fees are not refunded."
                    )
                    % params
                )
            message = Message(user.mobile, trainee.email or user.email, _("Your study account is open"), body)
        enrollment.welcome_sent_at = now
        enrollment.save(update_fields=["welcome_sent_at"])
        audit_record(actor=None, action="enrollment.welcome_sent", target=enrollment, new={"to": user.mobile})
        transaction.on_commit(partial(_deliver, [message]))
    return True


def accounts_sweep(*, batch_size: int | None = None) -> dict[str, int]:
    """Open the accounts of approved, paid trainees that have none (one candidate query, then one
    ``account_open`` each), and re-queue account messages that never went out."""
    from .tasks import account_welcome_send

    batch_size = batch_size or conf("LEARNING_JOB_BATCH")
    candidates = list(selectors.trainees_awaiting_account().values_list("pk", flat=True)[:batch_size])
    opened = skipped = 0
    for trainee_id in candidates:
        try:
            account_open(trainee_id=trainee_id)
            opened += 1
        except ValidationError:  # changed since the candidate query (e.g. refunded): skip
            skipped += 1
    stale = timezone.now() - timedelta(minutes=10)
    unsent = list(
        Enrollment.objects.filter(welcome_sent_at__isnull=True, opened_at__lte=stale).values_list(
            "pk", flat=True
        )[:batch_size]
    )
    for enrollment_id in unsent:
        account_welcome_send.delay(enrollment_id=enrollment_id)
    return {"opened": opened, "skipped": skipped, "messages_requeued": len(unsent)}


# ---------------------------------------------------------------------------------------------
# The study window: reminders, expiry, extension


def reminders_send(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Remind active trainees ``LEARNING_REMINDER_DAYS`` days before their deadline, once each.

    For each reminder (largest first) the candidates are the enrollments whose deadline falls
    between that reminder and the next smaller one and that have not had it for this deadline.
    Each batch claims its rows with one ``bulk_create(ignore_conflicts=True)`` tagged with a run id,
    then sends only what it claimed: a concurrent or repeated run sends nothing twice.
    """
    now = now or timezone.now()
    batch_size = batch_size or conf("LEARNING_JOB_BATCH")
    days = sorted({int(d) for d in conf("LEARNING_REMINDER_DAYS")}, reverse=True)
    sent = 0
    for index, day in enumerate(days):
        lower = days[index + 1] if index + 1 < len(days) else 0
        kind = f"days_{day}"
        already = EnrollmentReminder.objects.filter(
            enrollment=OuterRef("pk"), kind=kind, deadline=OuterRef("deadline")
        )
        due = Enrollment.objects.filter(
            status__in=EXPIRABLE_STATUSES,
            deadline__gt=now + timedelta(days=lower),
            deadline__lte=now + timedelta(days=day),
        ).exclude(Exists(already))
        for _round in range(10_000):
            candidates = list(due.order_by("pk").values_list("pk", "deadline")[:batch_size])
            if not candidates:
                break
            run = uuid.uuid4()
            with transaction.atomic():
                EnrollmentReminder.objects.bulk_create(
                    [
                        EnrollmentReminder(
                            enrollment_id=pk, kind=kind, deadline=deadline, sent_at=now, run=run
                        )
                        for pk, deadline in candidates
                    ],
                    ignore_conflicts=True,
                )
                claimed = list(
                    EnrollmentReminder.objects.filter(run=run).select_related(
                        "enrollment__user", "enrollment__trainee", "enrollment__programme"
                    )
                )
                messages = [_reminder_message(row.enrollment, day, now) for row in claimed]
                transaction.on_commit(partial(_deliver, messages))
            sent += len(claimed)
            if len(candidates) < batch_size:
                break
    return sent


def _reminder_message(enrollment: Enrollment, day: int, now: datetime) -> Message:
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            "%(name)s, %(days)s days are left to finish study and exam of %(programme)s: the deadline is "
            "%(deadline)s. After it the study account is void and fees are not refunded. %(url)s"
        ) % {
            "name": enrollment.trainee.name,
            "days": selectors.enrollment_days_left(enrollment, now=now),
            "programme": enrollment.programme.name,
            "deadline": _local(enrollment.deadline),
            "url": _site_url(reverse("learning:centre")),
        }
        subject = _("Study deadline in %(days)s days") % {"days": day}
    return Message(enrollment.user.mobile, enrollment.trainee.email or enrollment.user.email, subject, body)


def enrollments_expire(*, now: datetime | None = None) -> int:
    """Void every enrollment whose deadline passed without a pass. Returns how many.

    Set-based, whatever the number of rows: one UPDATE that also tags the rows with this run's id
    (``expiry_run``), and one audit entry for the run (``EXPIRY_AUDIT_ACTION``) carrying that id and
    the count. An enrollment's history finds its expiry through the id
    (:func:`learning.selectors.enrollment_history`).
    """
    now = now or timezone.now()
    run = uuid.uuid4()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The job is idempotent and access is refused past the deadline anyway, so this batch
            # commit need not wait for the WAL flush: a commit lost in a crash is redone next run.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        count = Enrollment.objects.filter(status__in=EXPIRABLE_STATUSES, deadline__lte=now).update(
            status=EnrollmentStatus.EXPIRED, status_changed_at=now, expired_at=now, expiry_run=run
        )
        if count:
            with translation.override(settings.LANGUAGE_CODE):
                reason = _("The study window ended without a passed exam; the study account is void.")
            audit_record(
                actor=None,
                action=EXPIRY_AUDIT_ACTION,
                old={"status": [str(status) for status in EXPIRABLE_STATUSES]},
                new={
                    "status": EnrollmentStatus.EXPIRED.value,
                    "expired_at": now.isoformat(),
                    "run": str(run),
                    "count": count,
                },
                reason=reason,
            )
    return count


def enrollment_extend(
    *, enrollment: Enrollment, days: int, reason: str, actor: User, ip: str | None = None
) -> Enrollment:
    """Extend the study window by ``days`` (from the deadline, or from now if it has passed).

    An expired enrollment becomes active again. Needs ``learning.extend_enrollment``; audited.
    """
    if not actor.has_perm("learning.extend_enrollment"):
        raise PermissionDenied(_("You may not extend study windows."))
    if not 1 <= int(days) <= 365:
        raise ValidationError({"days": _("Extend by 1 to 365 days.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the extension.")})
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status == EnrollmentStatus.PASSED:
            raise ValidationError(_("This trainee has passed; there is no study window to extend."))
        now = timezone.now()
        old = {"status": enrollment.status, "deadline": enrollment.deadline.isoformat()}
        if enrollment.status == EnrollmentStatus.EXPIRED and enrollment.expiry_run:
            # Keeps the link to the expiry run's audit entry, which the row forgets below.
            old["expiry_run"] = str(enrollment.expiry_run)
        enrollment.deadline = max(enrollment.deadline, now) + timedelta(days=int(days))
        if enrollment.status == EnrollmentStatus.EXPIRED:
            enrollment.status = EnrollmentStatus.ACTIVE
            enrollment.status_changed_at = now
            enrollment.expired_at = None
            enrollment.expiry_run = None
        enrollment.extended_days += int(days)
        enrollment.last_extended_at = now
        enrollment.last_extension_reason = reason
        enrollment.save()
        audit_record(
            actor=actor,
            action="enrollment.extended",
            target=enrollment,
            old=old,
            new={"status": enrollment.status, "deadline": enrollment.deadline.isoformat(), "days": int(days)},
            reason=reason,
            ip=ip,
        )
    return enrollment


# ---------------------------------------------------------------------------------------------
# Passing (called by the exams app)


def enrollment_mark_passed(
    *, enrollment: Enrollment, passed_at: datetime, actor: User | None = None
) -> Enrollment:
    """Mark an active enrollment passed (the exam was passed). Idempotent for a passed one."""
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status == EnrollmentStatus.PASSED:
            return enrollment
        if enrollment.status != EnrollmentStatus.ACTIVE:
            raise ValidationError(_("Only an active enrollment can be marked passed."))
        old = {"status": enrollment.status}
        enrollment.status = EnrollmentStatus.PASSED
        enrollment.status_changed_at = timezone.now()
        enrollment.passed_at = passed_at
        enrollment.save(update_fields=["status", "status_changed_at", "passed_at"])
        audit_record(
            actor=actor,
            action="enrollment.passed",
            target=enrollment,
            old=old,
            new={"status": enrollment.status, "passed_at": passed_at.isoformat()},
        )
    return enrollment


# ---------------------------------------------------------------------------------------------
# Study time: sessions, heartbeats, presence checks, staff entries
#
# The server decides what is credited: the real time between two consecutive heartbeats of the
# live session (a gap above interval + slack credits nothing), only while the page says it is
# visible and active, only the played part of a video, never beyond the lesson's hours or the
# daily cap. Credit accrues into "pending" record lines; a presence check answered in time confirms
# them, a missed one discards them (their time comes off the progress).


@dataclass
class StudyResult:
    ok: bool
    code: str = "ok"
    message: str = ""
    credited_ms: int = 0
    lesson_ms: int = 0
    required_ms: int = 0
    completed: bool = False
    presence: dict | None = None
    discarded_ms: int = 0
    replay: bool = False

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
            "credited_ms": self.credited_ms,
            "lesson_ms": self.lesson_ms,
            "required_ms": self.required_ms,
            "completed": self.completed,
            "presence": self.presence,
            "discarded_ms": self.discarded_ms,
            "replay": self.replay,
        }


def _next_check_at(now: datetime) -> datetime:
    low = int(conf("LEARNING_PRESENCE_MIN_MINUTES") * 60)
    high = int(conf("LEARNING_PRESENCE_MAX_MINUTES") * 60)
    return now + timedelta(seconds=low + secrets.randbelow(max(1, high - low + 1)))


def _presence_payload(state: StudyState) -> dict:
    expires = state.check_issued_at + timedelta(seconds=conf("LEARNING_PRESENCE_ANSWER_SECONDS"))
    return {
        "id": state.checks,
        "expires_at": expires.isoformat(),
        "seconds": conf("LEARNING_PRESENCE_ANSWER_SECONDS"),
    }


def _superseded() -> StudyResult:
    return StudyResult(
        ok=False,
        code="superseded",
        message=_(
            "This study window has ended: the lesson was opened in another window or on another device. "
            "Only one place can study at a time; reload this page to study here."
        ),
    )


def _discard_pending(*, state: StudyState, now: datetime) -> int:
    """A presence check was missed: take the pending (unconfirmed) time off and mark it discarded.

    ``state`` must be locked by the caller. Returns the milliseconds discarded.
    """
    from django.db.models import Case, F, Sum, When
    from django.db.models.functions import Greatest

    pending = StudyRecord.objects.filter(enrollment_id=state.enrollment_id, status=RecordStatus.PENDING)
    per_lesson = {
        row["lesson_id"]: (row["ms"], row["today"] or 0)
        for row in pending.values("lesson_id").annotate(
            ms=Sum("credited_ms"), today=Sum("credited_ms", filter=Q(day=state.day))
        )
    }
    total = today = 0
    for lesson_id, (ms, ms_today) in per_lesson.items():
        if not ms:
            continue
        total += ms
        today += ms_today
        required = Lesson.objects.filter(pk=lesson_id).values_list("class_hours", flat=True).first()
        required_ms = hours_to_ms(required or 0)
        LessonProgress.objects.filter(enrollment_id=state.enrollment_id, lesson_id=lesson_id).update(
            credited_ms=Greatest(F("credited_ms") - ms, 0),
            completed_at=Case(When(credited_ms__gte=required_ms + ms, then=F("completed_at")), default=None),
            updated_at=now,
        )
    pending.update(status=RecordStatus.DISCARDED, resolved_at=now, presence_check=state.checks or None)
    state.day_ms = max(0, state.day_ms - today)
    state.unconfirmed_ms = 0
    state.check_issued_at = None
    state.checks_missed += 1
    state.next_check_at = _next_check_at(now)
    state.record = None
    state.save(
        update_fields=[
            "day_ms",
            "unconfirmed_ms",
            "check_issued_at",
            "checks_missed",
            "next_check_at",
            "record",
        ]
    )
    if total and state.progress_id:
        state.progress.refresh_from_db()
    return total


def study_start(
    *,
    enrollment: Enrollment,
    lesson: Lesson,
    session_key: str = "",
    session_auth_hash: str = "",
    session_expires_at: datetime | None = None,
    now: datetime | None = None,
) -> StudyState:
    """Open a lesson for study: the enrollment's one live session moves here (any other window or
    device stops being credited), bound to the login session given (heartbeats must come with it).
    The caller has checked the lesson belongs to the plan."""
    now = now or timezone.now()
    selectors.enrollment_access_check(enrollment=enrollment, action="study", now=now)
    with transaction.atomic():
        progress, _created = LessonProgress.objects.get_or_create(
            enrollment=enrollment, lesson=lesson, defaults={"started_at": now, "updated_at": now}
        )
        state = StudyState.objects.select_for_update().filter(enrollment=enrollment).first()
        if state is None:
            state = StudyState(
                enrollment=enrollment, next_check_at=_next_check_at(now), day=timezone.localdate(now)
            )
        elif selectors.presence_check_overdue(state, now=now):
            state.progress = progress
            _discard_pending(state=state, now=now)
            progress.refresh_from_db()
        state.token = uuid.uuid4()
        state.lesson = lesson
        state.progress = progress
        state.record = None
        state.started_at = now
        state.last_seq = 0
        state.last_beat_at = now
        state.last_position = progress.video_position
        state.session_key_hash = session_key_hash(session_key) if session_key else ""
        state.session_auth_hash = session_auth_hash
        state.session_expires_at = session_expires_at
        state.save()
    return state


def _played_ms(played, *, gap_ms: int, duration: int | None) -> tuple[int, float | None]:
    """Milliseconds of video played according to the client's ranges ``[[from, to], ...]`` (seconds),
    and the last position. Each range is clipped to the video; a seek between ranges credits nothing."""
    total = 0.0
    last = None
    if not isinstance(played, list):
        return 0, None
    for item in played[:50]:
        try:
            start, end = float(item[0]), float(item[1])
        except (TypeError, ValueError, IndexError):
            continue
        if not (start == start and end == end) or start < 0 or end <= start:  # NaN or empty
            continue
        if duration:
            start, end = min(start, duration), min(end, duration)
        total += end - start
        last = end
    return min(int(total * 1000), gap_ms), last


_BEAT_COLUMNS = (
    "s.id, s.enrollment_id, s.lesson_id, s.progress_id, s.record_id, s.last_seq, s.last_beat_at, "
    "s.last_position, s.day, s.day_ms, s.unconfirmed_ms, s.checks, s.next_check_at, s.check_issued_at, "
    "e.status, e.deadline, l.kind, l.class_hours, l.video_duration_seconds, p.credited_ms, p.completed_at, "
    "r.status, r.lesson_id, r.day, rule.daily_cap_hours, u.id, u.password, u.is_active, "
    "s.session_key_hash, s.session_auth_hash, s.session_expires_at"
)


@dataclass
class _Beat:
    """The live session row with what a heartbeat needs from its enrollment, lesson, progress and
    record line, read in one SELECT."""

    pk: int
    enrollment_id: int
    lesson_id: int
    progress_id: int
    record_id: int | None
    last_seq: int
    last_beat_at: datetime
    last_position: float
    day: object
    day_ms: int
    unconfirmed_ms: int
    checks: int
    next_check_at: datetime
    check_issued_at: datetime | None
    status: str
    deadline: datetime
    kind: str
    class_hours: object
    duration: int | None
    credited_ms: int
    completed_at: datetime | None
    record_status: str | None
    record_lesson_id: int | None
    record_day: object
    cap_hours: object
    user_id: int
    user_password: str
    user_active: bool
    session_key_hash: str
    session_auth_hash: str
    session_expires_at: datetime | None


def _aware(value):

    if value is None or isinstance(value, str) or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, UTC)


def _as_date(value):
    from datetime import date

    return date.fromisoformat(value) if isinstance(value, str) else value


def _beat_row(*, token) -> _Beat | None:
    """One SELECT (locking the session row on PostgreSQL). Raw SQL: the heartbeat is the hottest
    endpoint of the portal and the ORM's query building costs more than the query."""
    from .models import ProgrammeStudyRule

    qn = connection.ops.quote_name
    tables = {
        "u": User._meta.db_table,
        "s": StudyState._meta.db_table,
        "e": Enrollment._meta.db_table,
        "l": Lesson._meta.db_table,
        "p": LessonProgress._meta.db_table,
        "r": StudyRecord._meta.db_table,
        "rule": ProgrammeStudyRule._meta.db_table,
    }
    sql = (
        f"SELECT {_BEAT_COLUMNS} FROM {qn(tables['s'])} s "  # noqa: S608 -- our own table names only
        f"JOIN {qn(tables['e'])} e ON e.id = s.enrollment_id "
        f"JOIN {qn(tables['u'])} u ON u.id = e.user_id "
        f"JOIN {qn(tables['l'])} l ON l.id = s.lesson_id "
        f"JOIN {qn(tables['p'])} p ON p.id = s.progress_id "
        f"LEFT JOIN {qn(tables['r'])} r ON r.id = s.record_id "
        f"LEFT JOIN {qn(tables['rule'])} rule ON rule.programme_id = e.programme_id "
        "WHERE s.token = %s"
    )
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF s"
    if connection.vendor == "postgresql":
        # Asynchronous commit for the heartbeat's transaction (sent in the same round trip): the
        # commit does not wait for the WAL flush (+40 % heartbeats a second here). A crash can lose
        # the last fraction of a second of heartbeats, never consistency; the next heartbeat then
        # finds the older state and credits the interval again (or restarts the chain if it is
        # too long), so at most one interval of study is lost.
        # And the joins in the order written (from the session row found by its token, then one
        # primary-key lookup per table: the best plan anyway): planning a 7-table join otherwise
        # costs PostgreSQL ~0.5 ms, ten times the query itself; with the order fixed ~0.17 ms.
        # Both settings last to the end of this short transaction, whose other statements are
        # primary-key updates (and, on the rare closed-enrollment path, small lookups).
        sql = "SET LOCAL synchronous_commit TO OFF; SET LOCAL join_collapse_limit TO 1; " + sql
    token_value = StudyState._meta.get_field("token").get_db_prep_value(token, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_value])
        row = cursor.fetchone()
    if row is None:
        return None
    beat = _Beat(*row)
    for name in (
        "last_beat_at",
        "next_check_at",
        "check_issued_at",
        "deadline",
        "completed_at",
        "session_expires_at",
    ):
        setattr(beat, name, _aware(getattr(beat, name)))
    beat.day, beat.record_day = _as_date(beat.day), _as_date(beat.record_day)
    return beat


def session_key_hash(session_key: str) -> str:
    return hashlib.sha256(f"study:{session_key}".encode()).hexdigest()


def _session_verified(beat: _Beat, session_key: str, now: datetime) -> bool:
    """Authenticate a heartbeat without loading the login session: the session cookie must be the
    one that opened this study session, that login session must not have expired or ended (logging
    out clears the binding), and its auth hash must still match the user's password (current or
    fallback secret keys), for an active user, as ``django.contrib.auth.get_user`` checks."""
    from django.utils.crypto import constant_time_compare

    if not (beat.user_active and session_key and beat.session_key_hash and beat.session_auth_hash):
        return False
    if not constant_time_compare(beat.session_key_hash, session_key_hash(session_key)):
        return False
    if beat.session_expires_at is None or beat.session_expires_at <= now:
        return False
    user = User(pk=beat.user_id, password=beat.user_password)
    if constant_time_compare(beat.session_auth_hash, user.get_session_auth_hash()):
        return True
    return any(
        constant_time_compare(beat.session_auth_hash, h) for h in user.get_session_auth_fallback_hash()
    )


def study_sessions_end(*, user: User) -> int:
    """The user logged out: their study sessions stop being credited (a new lesson page starts anew)."""
    return StudyState.objects.filter(enrollment__user=user).update(session_key_hash="")


def _logged_out() -> StudyResult:
    return StudyResult(ok=False, code="login", message=_("Your session has ended. Log in again."))


def study_heartbeat(
    *,
    session_key: str,
    token,
    seq: int,
    client_state: str,
    played=None,
    now: datetime | None = None,
) -> StudyResult:
    """Credit the time since the previous heartbeat of the live session (see the section comment).

    A constant number of queries: one SELECT (locking the session row), one UPDATE of it, and when
    time is credited one UPDATE of the lesson progress and one of the record line (an INSERT when a
    new line starts). A repeated sequence number credits nothing. Rare turns (a closed enrollment,
    a missed presence check) cost a few more.

    ``session_key`` is the login session cookie: the heartbeat is authenticated against the login
    session that opened the study session (see :func:`_session_verified`), so the endpoint does not
    load the session row nor the user separately.
    """
    now = now or timezone.now()
    # No savepoint: nothing in here is caught and retried, and it keeps the query count constant.
    with transaction.atomic(savepoint=False):
        beat = _beat_row(token=token)
        if beat is None:
            return _superseded()
        if not _session_verified(beat, session_key, now):
            return _logged_out()
        required = hours_to_ms(beat.class_hours)
        if beat.status != EnrollmentStatus.ACTIVE or beat.deadline <= now:
            access = selectors.enrollment_access(Enrollment.objects.get(pk=beat.enrollment_id), now=now)
            if not access.can_study:
                return StudyResult(ok=False, code="closed", message=access.reason)
        if seq <= beat.last_seq:
            return StudyResult(
                ok=True,
                replay=True,
                lesson_ms=beat.credited_ms,
                required_ms=required,
                completed=beat.credited_ms >= required,
                presence=_presence_payload(beat) if beat.check_issued_at else None,
            )
        discarded = 0
        if selectors.presence_check_overdue(beat, now=now):
            state = StudyState.objects.select_related("progress").get(pk=beat.pk)
            discarded = _discard_pending(state=state, now=now)
            beat = _beat_row(token=token)
            # The chain restarts: nothing for the time the check was waiting.
            beat.last_beat_at = now
        return _heartbeat_credit(beat=beat, seq=seq, client_state=client_state, played=played, now=now,
                                 required=required, discarded=discarded)  # fmt: skip


def _heartbeat_credit(
    *, beat: _Beat, seq: int, client_state: str, played, now: datetime, required: int, discarded: int
) -> StudyResult:
    gap_ms = int((now - beat.last_beat_at).total_seconds() * 1000)
    max_gap_ms = (conf("LEARNING_HEARTBEAT_SECONDS") + conf("LEARNING_HEARTBEAT_SLACK_SECONDS")) * 1000
    credit = played_ms = 0
    daily_capped = False
    position = beat.last_position
    video = beat.kind == LessonKind.VIDEO
    if video:
        played_ms, last = _played_ms(played, gap_ms=max(gap_ms, 0), duration=beat.duration)
        if last is not None:
            position = last
    day = timezone.localdate(now)
    day_ms = beat.day_ms if beat.day == day else 0
    if client_state == "active" and 0 < gap_ms <= max_gap_ms:
        credit = played_ms if video else gap_ms
        credit = min(credit, max(0, required - beat.credited_ms))
        cap_ms = hours_to_ms(
            beat.cap_hours if beat.cap_hours is not None else conf("LEARNING_DAILY_CAP_HOURS")
        )
        room = max(0, cap_ms - day_ms)
        daily_capped = credit > room
        credit = min(credit, room)
    completed_now = credit > 0 and beat.credited_ms + credit >= required
    unconfirmed = beat.unconfirmed_ms + credit
    if beat.check_issued_at is None and unconfirmed > 0 and (now >= beat.next_check_at or completed_now):
        beat.checks += 1
        beat.check_issued_at = now
    extend_record = (
        beat.record_id is not None
        and beat.record_status == RecordStatus.PENDING
        and beat.record_lesson_id == beat.lesson_id
        and beat.record_day == day
    )
    record_id = beat.record_id
    if credit and not extend_record:
        record_id = StudyRecord.objects.create(
            enrollment_id=beat.enrollment_id,
            lesson_id=beat.lesson_id,
            source=RecordSource.HEARTBEAT,
            status=RecordStatus.PENDING,
            credited_ms=credit,
            heartbeats=1,
            started_at=now - timedelta(milliseconds=credit),
            ended_at=now,
            day=day,
        ).pk
    ops, qn = connection.ops, connection.ops.quote_name
    at = ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(StudyState._meta.db_table)} SET last_seq = %s, last_beat_at = %s, "  # noqa: S608
            "last_position = %s, day = %s, day_ms = %s, unconfirmed_ms = %s, checks = %s, "
            "check_issued_at = %s, record_id = %s WHERE id = %s AND last_seq < %s",
            [
                seq,
                at,
                position,
                ops.adapt_datefield_value(day),
                day_ms + credit,
                unconfirmed,
                beat.checks,
                ops.adapt_datetimefield_value(beat.check_issued_at),
                record_id,
                beat.pk,
                seq,
            ],
        )
        if cursor.rowcount != 1:  # a concurrent duplicate of this heartbeat got there first
            if credit and not extend_record:
                StudyRecord.objects.filter(pk=record_id).delete()
            return StudyResult(ok=True, replay=True, required_ms=required)
        if credit:
            completed_at = beat.completed_at or (now if completed_now else None)
            cursor.execute(
                f"UPDATE {qn(LessonProgress._meta.db_table)} SET credited_ms = credited_ms + %s, "  # noqa: S608
                "updated_at = %s, video_position = %s, completed_at = %s WHERE id = %s",
                [credit, at, position, ops.adapt_datetimefield_value(completed_at), beat.progress_id],
            )
            if extend_record:
                cursor.execute(
                    f"UPDATE {qn(StudyRecord._meta.db_table)} SET credited_ms = credited_ms + %s, "  # noqa: S608
                    "heartbeats = heartbeats + 1, ended_at = %s WHERE id = %s",
                    [credit, at, record_id],
                )
    lesson_ms = beat.credited_ms + credit
    result = StudyResult(
        ok=True,
        credited_ms=credit,
        lesson_ms=lesson_ms,
        required_ms=required,
        completed=lesson_ms >= required,
        presence=_presence_payload(beat) if beat.check_issued_at else None,
        discarded_ms=discarded,
    )
    if discarded:
        result.message = _(
            "A presence check was not answered in time: %(minutes)s minutes of study were not credited."
        ) % {"minutes": round(discarded / 60_000, 1)}
    elif credit == 0 and client_state == "active" and gap_ms > max_gap_ms:
        result.code = "restarted"
    elif daily_capped:
        result.code = "daily_cap"
        result.message = _("You have reached today's limit of credited study. Continue tomorrow.")
    return result


def presence_confirm(*, user_id: int, token, check: int, now: datetime | None = None) -> StudyResult:
    """The learner answered a presence check: confirm the pending time, or discard it if too late."""
    now = now or timezone.now()
    with transaction.atomic():
        state = (
            StudyState.objects.select_for_update(of=("self",))
            .select_related("progress", "lesson")
            .filter(token=token, enrollment__user_id=user_id)
            .first()
        )
        if state is None:
            return _superseded()
        if state.check_issued_at is None or check != state.checks:
            return StudyResult(ok=True, code="nothing_due", lesson_ms=state.progress.credited_ms)
        if selectors.presence_check_overdue(state, now=now):
            discarded = _discard_pending(state=state, now=now)
            return StudyResult(
                ok=False,
                code="missed",
                discarded_ms=discarded,
                lesson_ms=state.progress.credited_ms,
                message=_(
                    "The answer came too late: %(minutes)s minutes of study since the last check were not credited."
                )
                % {"minutes": round(discarded / 60_000, 1)},
            )
        StudyRecord.objects.filter(enrollment_id=state.enrollment_id, status=RecordStatus.PENDING).update(
            status=RecordStatus.CONFIRMED, resolved_at=now, presence_check=state.checks
        )
        state.unconfirmed_ms = 0
        state.check_issued_at = None
        state.next_check_at = _next_check_at(now)
        state.record = None
        state.save(update_fields=["unconfirmed_ms", "check_issued_at", "next_check_at", "record"])
    return StudyResult(
        ok=True, code="confirmed", lesson_ms=state.progress.credited_ms, message=_("Thank you.")
    )


def presence_overdue_sweep(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Periodic: discard the pending time of sessions whose presence check went unanswered and that
    sent nothing since (the learner left). One candidate query, then a few per such session."""
    now = now or timezone.now()
    batch_size = batch_size or conf("LEARNING_JOB_BATCH")
    limit = now - timedelta(
        seconds=conf("LEARNING_PRESENCE_ANSWER_SECONDS") + selectors.PRESENCE_GRACE_SECONDS
    )
    candidates = list(
        StudyState.objects.filter(check_issued_at__lt=limit).values_list("pk", flat=True)[:batch_size]
    )
    done = 0
    for pk in candidates:
        with transaction.atomic():
            state = StudyState.objects.select_for_update().filter(pk=pk).first()
            if state is not None and selectors.presence_check_overdue(state, now=now):
                _discard_pending(state=state, now=now)
                done += 1
    return done


def study_hours_record(
    *,
    enrollment: Enrollment,
    lesson: Lesson,
    minutes: int,
    reason: str,
    actor: User,
    ip: str | None = None,
) -> StudyRecord:
    """Staff record class hours earned elsewhere (e.g. classroom training) for one lesson of the
    trainee's plan. Capped at what the lesson still lacks; audited."""
    from django.db.models import F

    if not actor.has_perm("learning.record_hours"):
        raise PermissionDenied(_("You may not record class hours."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason (where the hours were earned).")})
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        minutes = 0
    if not 1 <= minutes <= 24 * 60:
        raise ValidationError({"minutes": _("Enter between 1 and 1440 minutes.")})
    if selectors.enrollment_lesson(enrollment, lesson.pk) is None:
        raise ValidationError({"lesson": _("This lesson is not in the trainee's course plan.")})
    now = timezone.now()
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        StudyState.objects.select_for_update().filter(enrollment=enrollment).first()
        progress, _created = LessonProgress.objects.select_for_update().get_or_create(
            enrollment=enrollment, lesson=lesson, defaults={"started_at": now, "updated_at": now}
        )
        required = lesson.required_ms
        credit = min(minutes * 60_000, max(0, required - progress.credited_ms))
        if credit <= 0:
            raise ValidationError({"lesson": _("This lesson already has all its class hours.")})
        completed = progress.credited_ms + credit >= required
        LessonProgress.objects.filter(pk=progress.pk).update(
            credited_ms=F("credited_ms") + credit,
            updated_at=now,
            completed_at=progress.completed_at or (now if completed else None),
        )
        record = StudyRecord.objects.create(
            enrollment=enrollment,
            lesson=lesson,
            source=RecordSource.STAFF,
            status=RecordStatus.CONFIRMED,
            credited_ms=credit,
            started_at=now,
            ended_at=now,
            day=timezone.localdate(now),
            resolved_at=now,
            actor=actor,
            reason=reason,
        )
        audit_record(
            actor=actor,
            action="study.hours_recorded",
            target=enrollment,
            new={"lesson": lesson.code, "minutes_asked": minutes, "credited_ms": credit, "record": record.pk},
            reason=reason,
            ip=ip,
        )
    return record
