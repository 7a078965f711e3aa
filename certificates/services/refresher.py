"""Refresher invitations: when a programme is open, every holder due for the refresher
(:mod:`certificates.refresher`) is invited once, by SMS (and e-mail when known), and so are the
contacts of their unit; a holder may opt out through the signed link in the message.

When: a daily beat job (``certificates.tasks.refresher_invitations_sweep``) queues
:func:`refresher_invitations_send` for every programme open that day. Daily rather than on the
programme's save: a programme saved with a future opening day, dates edited later, holders who
become due while registration is open and a lost task are all covered by the same idempotent run,
and saving a programme in admin never sends thousands of messages in the admin's request.

At most once per holder and programme however often or concurrently it runs: the rows are
inserted with ``ON CONFLICT DO NOTHING`` against the unique (holder, programme) constraint, each
run reads back only the rows it inserted (its ``run`` id) and sends only for those; the messages'
event keys are unique as well.
"""

from __future__ import annotations

import datetime
import hmac
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.http import site_url
from portal.messaging.kinds import link_param
from portal.notifications import Notice, notices_deliver
from portal.services import audit_record
from registration.models import (
    LIVE_STATUSES,
    ApplicantKind,
    Programme,
    Trainee,
    UnitContact,
)

from ..models import RefresherInvitation, RefresherOptOut
from ..refresher import certificate_refresher_due, refresher_holders_due

OPT_OUT_SALT = "certificates.refresher.opt_out"
INVITED_ACTION = "refresher.invited"
OPT_OUT_ACTION = "refresher.opted_out"


@dataclass
class InvitationRun:
    programme_id: int
    invited: list[int] = field(default_factory=list)  # invitation ids created by this run
    contacts: int = 0  # unit contacts told
    skipped: str = ""  # why nothing was looked at ("closed", "missing")


# ---------------------------------------------------------------------------------------------
# Opt-out link


def opt_out_signature(invitation_id: int) -> str:
    return salted_hmac(OPT_OUT_SALT, str(invitation_id), algorithm="sha256").hexdigest()[:20]


def opt_out_path(invitation_id: int) -> str:
    return reverse(
        "certificates:refresher_opt_out",
        kwargs={"pk": invitation_id, "signature": opt_out_signature(invitation_id)},
    )


def invitation_by_signed_link(*, pk: int, signature: str) -> RefresherInvitation | None:
    """The invitation of an opt-out link, or ``None`` for a wrong signature."""
    if not hmac.compare_digest(opt_out_signature(pk).encode(), str(signature or "").encode()):
        return None
    return RefresherInvitation.objects.select_related("certificate", "programme").filter(pk=pk).first()


def refresher_opt_out(*, invitation: RefresherInvitation, ip: str | None = None) -> bool:
    """Record that the invitation's holder wants no more refresher invitations (idempotent);
    ``True`` when recorded now."""
    with transaction.atomic():
        _row, created = RefresherOptOut.objects.get_or_create(
            holder_hash=invitation.holder_hash, defaults={"invitation": invitation, "ip": ip or None}
        )
        if created:
            audit_record(actor=None, action=OPT_OUT_ACTION, target=invitation.certificate, ip=ip)
    return created


# ---------------------------------------------------------------------------------------------
# Who is invited


def refresher_candidates(*, programme: Programme):
    """The latest certificates of the holders due by the programme's closing day who are not yet
    invited to it, not registered in it, not certified in it and have not opted out (one query)."""
    hash_ref = OuterRef("enrollment__trainee__id_number_hash")
    return (
        refresher_holders_due(on_or_before=programme.closes_on)
        .exclude(enrollment__programme=programme)
        .exclude(Exists(RefresherOptOut.objects.filter(holder_hash=hash_ref)))
        .exclude(Exists(RefresherInvitation.objects.filter(holder_hash=hash_ref, programme=programme)))
        .exclude(
            Exists(
                Trainee.objects.filter(
                    programme=programme, id_number_hash=hash_ref, status__in=LIVE_STATUSES, is_duplicate=False
                )
            )
        )
    )


def _contacts_by_unit(applications) -> dict[tuple, list[tuple[str, str, str]]]:
    """``{unit key: [(mobile, email, name)]}``: a unit account's active contacts, or the
    application's contact where the unit has no account yet (individuals: none)."""
    unit_ids = {app.unit_id for app in applications if app.unit_id}
    by_unit: dict[tuple, list[tuple[str, str, str]]] = defaultdict(list)
    for contact in UnitContact.objects.filter(unit_id__in=unit_ids, active=True).order_by("pk"):
        by_unit[("unit", contact.unit_id)].append((contact.mobile, "", contact.name))
    for app in applications:
        if app.unit_id or app.kind != ApplicantKind.UNIT or not app.contact_phone:
            continue
        key = ("application", app.pk)
        if not by_unit[key]:
            by_unit[key].append((app.contact_phone, app.contact_email, app.contact_name))
    return by_unit


def _unit_key(application) -> tuple | None:
    if application.unit_id:
        return ("unit", application.unit_id)
    if application.kind == ApplicantKind.UNIT:
        return ("application", application.pk)
    return None


def refresher_invitations_send(*, programme_id: int, today: datetime.date | None = None) -> InvitationRun:
    """Invite every holder due for the refresher to the programme (only while it is open), and
    tell their units' contacts how many of their people are due. Set-based and idempotent: a holder
    is invited at most once per programme, also when runs overlap. Registrations made since the
    last run are linked to their invitations first."""
    result = InvitationRun(programme_id=programme_id)
    programme = Programme.objects.filter(pk=programme_id).first()
    if programme is None:
        result.skipped = "missing"
        return result
    today = today or timezone.localdate()
    if not programme.is_open_on(today):
        result.skipped = "closed"
        return result
    refresher_registrations_link(programme_id=programme.pk)
    candidates = list(refresher_candidates(programme=programme))
    if not candidates:
        return result
    run = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        RefresherInvitation.objects.bulk_create(
            [
                RefresherInvitation(
                    holder_hash=certificate.enrollment.trainee.id_number_hash,
                    certificate=certificate,
                    programme=programme,
                    refresher_due_on=certificate_refresher_due(certificate=certificate),
                    sent_at=now,
                    run=run,
                )
                for certificate in candidates
            ],
            ignore_conflicts=True,
        )
        mine = list(
            RefresherInvitation.objects.filter(run=run)
            .select_related("certificate__enrollment__trainee__application")
            .order_by("pk")
        )
        if not mine:
            return result
        notices: list[Notice] = []
        per_unit: dict[tuple, list[RefresherInvitation]] = defaultdict(list)
        for invitation in mine:
            certificate = invitation.certificate
            trainee = certificate.enrollment.trainee
            event_key = f"refresher:{programme.pk}:{invitation.pk}"
            notices.append(
                Notice(
                    mobile=trainee.mobile,
                    email=trainee.email,
                    subject="",
                    body="",
                    kind="refresher_invitation",
                    params={
                        "name": certificate.holder_name,
                        "number": certificate.number or "",
                        "due": invitation.refresher_due_on.isoformat(),
                        "programme": programme.name,
                        "link": link_param(site_url(opt_out_path(invitation.pk))),
                    },
                    event_key=event_key,
                    about=certificate,
                )
            )
            invitation.message_event = event_key
            invitation.channels = "sms,email" if trainee.email else "sms"
            key = _unit_key(trainee.application)
            if key:
                per_unit[key].append(invitation)
        applications = {
            inv.certificate.enrollment.trainee.application_id: inv.certificate.enrollment.trainee.application
            for invitations in per_unit.values()
            for inv in invitations
        }
        contacts = _contacts_by_unit(applications.values())
        for key, invitations in per_unit.items():
            told = 0
            for mobile, email, _name in dict.fromkeys(contacts.get(key, [])):
                notices.append(
                    Notice(
                        mobile=mobile,
                        email=email,
                        subject="",
                        body="",
                        kind="refresher_invitation_contact",
                        params={"count": len(invitations), "programme": programme.name},
                        event_key=f"refresher-unit:{programme.pk}:{key[0]}:{key[1]}:{mobile}",
                        about=invitations[0].certificate.enrollment.trainee.application,
                    )
                )
                told += 1
            for invitation in invitations:
                invitation.contacts_notified = told
            result.contacts += told
        RefresherInvitation.objects.bulk_update(mine, ["message_event", "channels", "contacts_notified"])
        notices_deliver(notices)
        audit_record(
            actor=None,
            action=INVITED_ACTION,
            target=programme,
            new={"invited": len(mine), "contacts": result.contacts, "run": str(run)},
        )
    result.invited = [invitation.pk for invitation in mine]
    return result


def refresher_registrations_link(*, programme_id: int) -> int:
    """Link the programme's invitations whose holder has registered in it since (a live
    registration with the same ID number): set-based; returns how many were linked."""
    with transaction.atomic():
        open_rows = list(
            RefresherInvitation.objects.select_for_update()
            .filter(programme_id=programme_id, registered_trainee__isnull=True)
            .order_by("pk")
        )
        if not open_rows:
            return 0
        registered = dict(
            Trainee.objects.filter(
                programme_id=programme_id,
                status__in=LIVE_STATUSES,
                is_duplicate=False,
                id_number_hash__in={row.holder_hash for row in open_rows},
            )
            .order_by("pk")
            .values_list("id_number_hash", "pk")
        )
        now = timezone.now()
        linked = []
        for row in open_rows:
            trainee_id = registered.get(row.holder_hash)
            if trainee_id:
                row.registered_trainee_id = trainee_id
                row.registered_at = now
                linked.append(row)
        RefresherInvitation.objects.bulk_update(linked, ["registered_trainee", "registered_at"])
    return len(linked)


def refresher_programmes_open(*, today: datetime.date | None = None) -> list[int]:
    """Ids of the programmes open for registration ``today`` (the daily sweep invites to each)."""
    today = today or timezone.localdate()
    return list(
        Programme.objects.filter(opens_on__lte=today, closes_on__gte=today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
