"""Notices of registration: the confirmation after sign-up, the outcome of each review decision,
and the warning to a registered person that a sign-up with their ID or mobile number was refused.

The portal's notice policy (README, Code style, Notices): each ``*_notify`` service is run by a
Celery task of ``registration.tasks`` after the change commits, claims its notice once (a second
run returns ``False``) and hands the messages to ``portal.notifications.notices_deliver``, which
records them and sends each one on its own; a failing gateway is logged (without the text) and never
raised. Each SMS is a message kind (``portal.messaging.kinds``) filled with its variables; the
e-mail carries the fuller text.
"""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from portal.http import site_url
from portal.messaging.kinds import link_param
from portal.models import AuditEntry
from portal.notifications import Notice, notices_deliver
from portal.ratelimit import ratelimit_hit, ratelimit_setting
from portal.services import audit_record

from ..models import LIVE_STATUSES, ApplicantKind, Application, Trainee, TraineeStatus
from ..selectors import application_fee_summary, yuan
from .applications import DUPLICATE_REFUSED_ACTION
from .fields import mobile_or_none

NOTICE_SENT_ACTION = "registration.notice_sent"
# Notices "someone tried to register you again" per registration and window (seconds): no SMS flood.
DUPLICATE_NOTICE_RATE = (3, 24 * 3600)


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


def _contact_notice(
    application: Application,
    *,
    key: str,
    subject: str,
    body: str,
    kind: str,
    params: dict,
    email: bool = True,
) -> Notice:
    """The notice to the application's contact: SMS (message ``kind`` filled with ``params``)
    when the contact phone is a mobile number, e-mail unless ``email`` is false. ``key`` is the
    claimed notice's key."""
    return Notice(
        mobile=mobile_or_none(application.contact_phone) or "",
        email=application.contact_email if email else "",
        subject=subject,
        body=body,
        kind=kind,
        params=params,
        event_key=f"registration:{key}:contact",
        about=application,
    )


def _trainee_notice(
    trainee: Trainee,
    *,
    key: str,
    subject: str,
    body: str,
    kind: str,
    params: dict,
    skip: Application | None = None,
    email: bool = True,
) -> Notice:
    """The notice to the trainee: SMS (message ``kind`` filled with ``params``), and e-mail to the
    address on file unless ``email`` is false; with ``skip``, not to the contact's own number and
    address again (an individual is their own contact)."""
    same_mobile = skip is not None and trainee.mobile == mobile_or_none(skip.contact_phone)
    same_email = skip is not None and trainee.email == skip.contact_email
    return Notice(
        mobile="" if same_mobile else trainee.mobile,
        email=trainee.email if email and not same_email else "",
        subject=subject,
        body=body,
        kind=kind,
        params=params,
        event_key=f"registration:{key}:trainee:{trainee.pk}",
        about=trainee,
    )


def application_confirmation_notify(*, application_id: int) -> bool:
    """Send the contact the confirmation with the fee due and each trainee their attachment 2
    link. Sent once: ``False`` if already sent (or the application is gone).

    An individual's confirmation goes by SMS only: the public individual form answers alike
    whether or not the person was registered already
    (:func:`registration.services.applications.application_submit_or_notify`), so
    the private links go only to the mobile number, which then becomes the study account, not to
    an e-mail address anybody could have typed."""
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        application = (
            Application.objects.select_for_update()
            .select_related("programme")
            .filter(pk=application_id)
            .first()
        )
        key = f"application:{application_id}:submitted"
        if application is None or not _notice_claim(key):
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
        by_email = application.kind != ApplicantKind.INDIVIDUAL
        notices = [
            _contact_notice(
                application,
                key=key,
                email=by_email,
                subject=_("Registration received: %(reference)s") % params,
                body=body,
                kind="application_received",
                params={
                    "reference": application.reference,
                    "count": summary.count,
                    "total": params["total"],
                    "link": link_param(link),
                },
            )
        ]
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
            notices.append(
                _trainee_notice(
                    trainee,
                    key=key,
                    subject=_("Complete your registration form: %(reference)s") % trainee_params,
                    body=message,
                    kind="attachment2_link",
                    params={**trainee_params, "link": link_param(trainee_params["link"])},
                    email=by_email,
                )
            )
        notices_deliver(notices)
    return True


def trainee_duplicate_attempt_notify(*, trainee_id: int, audit_entry_id: int) -> bool:
    """Tell the person of a live registration that a sign-up with their ID number (or their mobile
    number) was just refused because of it: by SMS to the mobile number on file and e-mail to the
    address on file, never to what the visitor typed, with the link to their own registration.
    Once per attempt (the audit entry of
    :func:`registration.services.applications.application_submit_or_notify`) and at most
    ``REGISTRATION_RATE_DUPLICATE_NOTICE`` per registration and window, so nobody can flood a
    trainee's phone. ``False`` when nothing was sent."""
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        trainee = (
            Trainee.objects.select_for_update()
            .select_related("application", "programme")
            .filter(pk=trainee_id, purged_at__isnull=True)
            .first()
        )
        entry = AuditEntry.objects.filter(pk=audit_entry_id, action=DUPLICATE_REFUSED_ACTION).first()
        key = f"duplicate:{audit_entry_id}"
        if trainee is None or entry is None or not _notice_claim(key):
            return False
        limit, window = ratelimit_setting("REGISTRATION_RATE_DUPLICATE_NOTICE", DUPLICATE_NOTICE_RATE)
        if not ratelimit_hit(
            scope="signup-duplicate-notice", key=str(trainee.pk), limit=limit, window_seconds=window
        ):
            return False
        application = trainee.application
        params = {
            "name": trainee.name,
            "programme": trainee.programme.name,
            "reference": application.reference,
            "mobile": trainee.mobile,
            "link": application_link(application)
            if application.kind == ApplicantKind.INDIVIDUAL
            else attachment2_link(trainee),
        }
        if (entry.new_value or {}).get("field") == "mobile":
            kind, sms_params = "registration_duplicate_mobile", {"programme": params["programme"]}
            subject = _("Registration not accepted: %(programme)s") % params
            message = (
                _(
                    "A registration for %(programme)s was just submitted with this mobile number "
                    "(%(mobile)s). It is already used by a registration in this programme, so the new one "
                    "was not accepted: every trainee registers with their own mobile number. If this was "
                    "not you, nothing needs to be done."
                )
                % params
            )
        else:
            kind = "registration_duplicate"
            sms_params = {
                "name": params["name"],
                "programme": params["programme"],
                "reference": params["reference"],
                "link": link_param(params["link"]),
            }
            subject = _("You are already registered: %(reference)s") % params
            message = (
                _(
                    "%(name)s, a registration for %(programme)s was just submitted again with your ID "
                    "number. You are already registered (%(reference)s), so nothing new was registered. "
                    "Your registration: %(link)s If this was not you, nothing needs to be done."
                )
                % params
            )
        notices_deliver(
            [_trainee_notice(trainee, key=key, subject=subject, body=message, kind=kind, params=sms_params)]
        )
    return True


def trainee_status_change_notify(*, trainee_id: int, audit_entry_id: int) -> bool:
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
        key = f"trainee:{trainee_id}:audit:{audit_entry_id}"
        if trainee is None or entry is None or not _notice_claim(key):
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
        # The SMS variables: link variables carry the path after PORTAL_SITE_URL.
        sms = {**params, "link": link_param(params["link"]), "form_link": link_param(params["form_link"])}
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
            contact_kind, contact_params = (
                "registration_approved_contact",
                ("name", "reference", "fee", "link"),
            )
            personal_kind, personal_params = "registration_approved", ("name", "programme")
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
            sms["link"] = sms["form_link"]  # both returned templates link to the trainee's form
            contact_kind, contact_params = (
                "registration_returned_contact",
                ("name", "reference", "reason", "link"),
            )
            personal_kind, personal_params = "registration_returned", ("name", "reason", "link")
        elif status == TraineeStatus.REJECTED:
            subject = _("Registration rejected: %(name)s (%(reference)s)") % params
            contact = _("The registration of %(name)s (%(reference)s) was rejected: %(reason)s.")
            personal = _("%(name)s, your registration for %(programme)s was rejected: %(reason)s.")
            contact_kind, contact_params = "registration_rejected_contact", ("name", "reference", "reason")
            personal_kind, personal_params = "registration_rejected", ("name", "programme", "reason")
        elif status == TraineeStatus.WITHDRAWN:
            subject = _("Registration withdrawn: %(name)s (%(reference)s)") % params
            contact = _("The registration of %(name)s (%(reference)s) has been withdrawn.")
            personal = _("%(name)s, your registration for %(programme)s has been withdrawn.")
            contact_kind, contact_params = "registration_withdrawn_contact", ("name", "reference")
            personal_kind, personal_params = "registration_withdrawn", ("name", "programme")
        else:
            return False
        notices_deliver(
            [
                _contact_notice(
                    application,
                    key=key,
                    subject=subject,
                    body=contact % params,
                    kind=contact_kind,
                    params={name: sms[name] for name in contact_params},
                ),
                _trainee_notice(
                    trainee,
                    key=key,
                    subject=subject,
                    body=personal % params,
                    kind=personal_kind,
                    params={name: sms[name] for name in personal_params},
                    skip=application,
                ),
            ]
        )
    return True


def trainee_attachment2_link_notify(*, trainee_id: int, mobile: str) -> bool:
    """Send a trainee added after submission, or whose mobile number the contact corrected, the link
    to their attachment 2 on ``mobile`` (:mod:`registration.services.roster_edits`). ``False`` when the
    number changed again since (that change sends its own) or the registration is no longer open."""
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        trainee = (
            Trainee.objects.select_for_update()
            .select_related("application", "programme")
            .filter(pk=trainee_id)
            .first()
        )
        if trainee is None or trainee.mobile != mobile or trainee.status not in LIVE_STATUSES:
            return False
        application = trainee.application
        params = {
            "name": trainee.name,
            "programme": trainee.programme.name,
            "reference": application.reference,
            "link": attachment2_link(trainee),
        }
        message = (
            _(
                "%(name)s, you are registered for %(programme)s (%(reference)s). Complete your "
                "information form and upload your photo and ID card here: %(link)s"
            )
            % params
        )
        notice = Notice(
            mobile=trainee.mobile,
            email=trainee.email,
            subject=_("Complete your registration form: %(reference)s") % params,
            body=message,
            kind="attachment2_link",
            params={**params, "link": link_param(params["link"])},
            event_key=f"registration:link:{trainee.pk}:{mobile}:{trainee.updated_at.timestamp():.0f}",
            about=trainee,
        )
        notices_deliver([notice])
    return True
