"""Study accounts: opening them for approved, paid trainees, and setting one's own password.

An account is opened once per trainee (:func:`account_open`, idempotent; :func:`accounts_sweep`
catches what the payment event missed). Nobody gets a shared default password: a one-time link and
a 6-digit code (:func:`access_code_issue`) let the person set their own, and a used, expired or
superseded code is refused.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.http import site_url
from portal.models import User
from portal.notifications import Notice, notices_deliver
from portal.services import audit_record, user_create
from portal.validators import mobile_normalize
from registration.models import Programme, Trainee, TraineeStatus

from ..conf import conf
from ..models import AccessCode, AccessCodePurpose, Enrollment, EnrollmentStatus
from ..selectors.accounts import token_hash, trainees_awaiting_account

# ---------------------------------------------------------------------------------------------
# Access codes: a one-time link and a 6-digit code to set one's own password


@dataclass(frozen=True)
class IssuedCode:
    access: AccessCode
    link_token: str
    code: str

    @property
    def link_url(self) -> str:
        return site_url(reverse("learning:activate", kwargs={"token": self.link_token}))


def _code_hash(link_hash: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{link_hash}:{code}".encode(), hashlib.sha256).hexdigest()


def access_code_issue(*, user: User, purpose: str, code_valid: timedelta) -> IssuedCode:
    """Create a new link + code for ``user`` and revoke their earlier open ones (call in a transaction)."""
    now = timezone.now()
    with transaction.atomic():
        AccessCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        token = secrets.token_urlsafe(32)
        code = f"{secrets.randbelow(1_000_000):06d}"
        link_hash = token_hash(token)
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


def _password_check(password: str, user: User) -> None:
    """The password validators (``AUTH_PASSWORD_VALIDATORS``); their messages under ``password``."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from None


def _password_set(*, user: User, access: AccessCode, password: str, via: str, ip: str | None) -> User:
    _password_check(password, user)
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
                link_hash=token_hash(token),
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
    wrong = ValidationError(
        {
            "code": ValidationError(
                _("The code is wrong or has expired. Ask for a new code."), code="code_invalid"
            )
        }
    )
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
            _password_check(password, user)
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
            notice = Notice(
                mobile=user.mobile,
                email=user.email,
                subject=_("Set your study account password"),
                body=body,
                kind="password_code",
                params={"code": issued.code},
                event_key=f"access_code:{issued.access.pk}",
                about=user,
            )
        notices_deliver([notice])
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
    from ..tasks import enrollment_welcome_notify  # tasks import services

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
        enrollment_welcome_notify.delay_on_commit(enrollment_id=enrollment.pk)
    return enrollment


def accounts_sweep(*, batch_size: int | None = None) -> dict[str, int]:
    """Open the accounts of approved, paid trainees that have none (one candidate query, then one
    ``account_open`` each), and re-queue account messages that never went out."""
    from ..tasks import enrollment_welcome_notify  # tasks import services

    batch_size = batch_size or conf("LEARNING_JOB_BATCH")
    candidates = list(trainees_awaiting_account().values_list("pk", flat=True)[:batch_size])
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
        enrollment_welcome_notify.delay(enrollment_id=enrollment_id)
    return {"opened": opened, "skipped": skipped, "messages_requeued": len(unsent)}
