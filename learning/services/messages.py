"""The learning app's notices: the account-opened message and the study-deadline reminders.

Each ``*_notify`` service is run by a Celery task after the commit (``learning.tasks``), claims its
notice once (``Enrollment.welcome_sent_at``; one ``EnrollmentReminder`` row per reminder and
deadline) and hands it to :func:`portal.notifications.notices_deliver`, which records it and sends
each message on its own: a failure is recorded and logged without the text, never raised here
(README, Code style, Notices). The SMS are message kinds (``account_opened``,
``account_opened_existing``, ``study_deadline_reminder``, ``enrollment_expired``); the e-mails
carry the fuller text. The expiry notice is recorded in the expiry run's own transaction
(:func:`enrollments_expired_notify`).
The code-by-SMS notice belongs to its request (:func:`learning.services.accounts.access_code_request`).
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from portal.http import site_url
from portal.messaging.kinds import link_param
from portal.notifications import Notice, notices_deliver
from portal.services import audit_record

from ..conf import conf
from ..models import EXPIRABLE_STATUSES, AccessCodePurpose, Enrollment, EnrollmentReminder, EnrollmentStatus
from ..selectors.enrollments import enrollment_days_left
from .accounts import access_code_issue


def _local(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i")


def enrollment_welcome_notify(*, enrollment_id: int) -> bool:
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
                kind = "account_opened_existing"
                sms = {key: params[key] for key in ("name", "programme", "deadline")}
                params["url"] = site_url(reverse("portal:login"))
                params["reset_url"] = site_url(reverse("learning:code_request"))
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
                    code_url=site_url(reverse("learning:code_confirm")),
                    hours=conf("LEARNING_LINK_HOURS"),
                )
                kind = "account_opened"
                sms = {key: params[key] for key in ("name", "programme", "hours", "deadline")}
                sms["link"] = link_param(issued.link_url)
                body = (
                    _(
                        "%(name)s, your study account for %(programme)s is open. Your login is your mobile number "
                        "%(mobile)s. Set your own password within %(hours)s hours at %(url)s or enter the code "
                        "%(code)s at %(code_url)s . Finish study and exam by %(deadline)s (%(days)s days); after "
                        "that the account is void and fees are not refunded."
                    )
                    % params
                )
            notice = Notice(
                mobile=user.mobile,
                email=trainee.email or user.email,
                subject=_("Your study account is open"),
                body=body,
                kind=kind,
                params=sms,
                event_key=f"enrollment:{enrollment.pk}:welcome",
                about=enrollment,
            )
        enrollment.welcome_sent_at = now
        enrollment.save(update_fields=["welcome_sent_at"])
        audit_record(actor=None, action="enrollment.welcome_sent", target=enrollment, new={"to": user.mobile})
        notices_deliver([notice])
    return True


def reminders_notify(*, now: datetime | None = None, batch_size: int | None = None) -> int:
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
                notices_deliver([_reminder_notice(row, day, now) for row in claimed])
            sent += len(claimed)
            if len(candidates) < batch_size:
                break
    return sent


def _reminder_notice(reminder: EnrollmentReminder, day: int, now: datetime) -> Notice:
    enrollment = reminder.enrollment
    with translation.override(settings.LANGUAGE_CODE):
        params = {
            "name": enrollment.trainee.name,
            "days": enrollment_days_left(enrollment, now=now),
            "programme": enrollment.programme.name,
            "deadline": _local(enrollment.deadline),
        }
        body = _(
            "%(name)s, %(days)s days are left to finish study and exam of %(programme)s: the deadline is "
            "%(deadline)s. After it the study account is void and fees are not refunded. %(url)s"
        ) % {**params, "url": site_url(reverse("learning:centre"))}
        subject = _("Study deadline in %(days)s days") % {"days": day}
    return Notice(
        mobile=enrollment.user.mobile,
        email=enrollment.trainee.email or enrollment.user.email,
        subject=subject,
        body=body,
        kind="study_deadline_reminder",
        params=params,
        event_key=f"enrollment:{enrollment.pk}:reminder:{reminder.kind}:{reminder.deadline.isoformat()}",
        about=enrollment,
    )


def enrollments_expired_notify(*, run: uuid.UUID | str) -> int:
    """Tell each trainee whose enrollment the expiry run ``run`` voided (``enrollment_expired``, by
    SMS and e-mail). Call it in the run's transaction (:func:`learning.services.windows.enrollments_expire`):
    the messages are recorded there and sent after the commit; the event key (enrollment and run)
    records nothing twice. Returns how many trainees were told."""
    expired = Enrollment.objects.filter(expiry_run=run, status=EnrollmentStatus.EXPIRED).select_related(
        "user", "trainee", "programme"
    )
    with translation.override(settings.LANGUAGE_CODE):
        notices = [
            Notice(
                mobile=enrollment.user.mobile,
                email=enrollment.trainee.email or enrollment.user.email,
                subject="",  # the kind's label
                body="",  # the kind's text
                kind="enrollment_expired",
                params={"name": enrollment.trainee.name, "programme": enrollment.programme.name},
                event_key=f"enrollment:{enrollment.pk}:expired:{run}",
                about=enrollment,
            )
            for enrollment in expired.order_by("pk").iterator(chunk_size=500)
        ]
        notices_deliver(notices)
    return len(notices)


def identity_code_notify(*, check, code: str) -> None:
    """The code of an identity check by SMS (issue #23), to the trainee's own mobile; recorded in the
    check's own transaction (its ``event_key`` is unique), sent after the commit."""
    enrollment = check.enrollment
    with translation.override(settings.LANGUAGE_CODE):
        body = _("Your identity check code is %(code)s (valid 3 minutes). Do not tell it to anyone.") % {
            "code": code
        }
        subject = _("Identity check code")
    notices_deliver(
        [
            Notice(
                mobile=enrollment.user.mobile,
                email="",
                subject=subject,
                body=body,
                kind="identity_code",
                params={"code": code},
                event_key=f"identity_check:{check.pk}:code",
                about=enrollment,
            )
        ]
    )


def identity_exam_photo_rejected_notify(*, check_id: int) -> bool:
    """Tell the trainee their exam pass was annulled because staff rejected the exam photo (issue
    #23; SMS kind ``exam_pass_annulled`` and e-mail), once per check (``event_key``)."""
    from ..models import IdentityCheck, PhotoReview
    from .identity import exam_photo_rejected_message

    check = (
        IdentityCheck.objects.select_related(
            "enrollment__user", "enrollment__trainee", "enrollment__programme"
        )
        .filter(pk=check_id, photo_review=PhotoReview.REJECTED)
        .first()
    )
    if check is None:
        return False
    enrollment = check.enrollment
    with translation.override(settings.LANGUAGE_CODE):
        notices_deliver(
            [
                Notice(
                    mobile=enrollment.user.mobile,
                    email=enrollment.user.email or "",
                    subject=_("Exam pass annulled"),
                    body=exam_photo_rejected_message(check.review_reason),
                    kind="exam_pass_annulled",
                    params={
                        "name": enrollment.trainee.name,
                        "programme": enrollment.programme.name,
                        "reason": check.review_reason[:20],
                    },
                    event_key=f"identity_check:{check.pk}:photo_rejected",
                    about=enrollment,
                )
            ]
        )
    return True
