"""Unit accounts (issue #21): a unit, identified by its unified social credit code, sees all of its
applications across programmes and years; its contacts log in with their mobile number and a
one-time code by SMS (``registration.units.access`` keeps the contact in the session).

* a contact **claims** an application (its private link plus a code sent to the application's
  contact phone): :func:`unit_claim_code_request`, :func:`unit_for_application_link`;
* a contact **logs in**: :func:`unit_login_code_request`, :func:`unit_login_code_confirm`;
* a contact who lost the private links **recovers** them (credit code + mobile):
  :func:`unit_recover_code_request`, :func:`unit_recover_code_confirm`. The request answers the
  same whether or not the credit code or the mobile number is known (no oracle);
* contacts are added and removed by a contact or by staff: :func:`unit_contact_add`,
  :func:`unit_contact_remove`; staff merge duplicate units: :func:`unit_merge`;
* a new unit application is linked to its unit at submission: :func:`application_unit_link`.

Every change is audited. Codes are stored as keyed hashes only; a new code revokes the earlier open
ones of the same number and purpose; ``UNIT_CODE_MAX_ATTEMPTS`` wrong entries use a code up.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.models import User
from portal.notifications import Notice, notices_deliver
from portal.services import audit_record
from portal.validators import mobile_normalize, mobile_validate

from ..models import (
    ApplicantKind,
    Application,
    Unit,
    UnitAccessCode,
    UnitCodePurpose,
    UnitContact,
)
from ..validators import uscc_validate

CODE_MINUTES = 10  # written in the unit_login_code SMS template
CODE_MAX_ATTEMPTS = 5


def _conf(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _code_hash(code: str) -> str:
    key = f"{settings.SECRET_KEY}:registration.unit_code".encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def _wrong_code() -> ValidationError:
    return ValidationError({"code": _("The code is wrong or has expired. Ask for a new code.")}, code="code")


# --- Codes ------------------------------------------------------------------------------------


def _code_send(
    *, mobile: str, purpose: str, unit: Unit | None = None, application: Application | None = None
) -> UnitAccessCode:
    """Issue a code to ``mobile`` (revoking its earlier open codes of ``purpose``) and record the SMS.
    Call inside the transaction that decided to send it."""
    now = timezone.now()
    UnitAccessCode.objects.filter(mobile=mobile, purpose=purpose, used_at__isnull=True).update(used_at=now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    access = UnitAccessCode.objects.create(
        mobile=mobile,
        purpose=purpose,
        unit=unit,
        application=application,
        code_hash=_code_hash(code),
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),  # the SMS template says 10 minutes
    )
    with translation.override(settings.LANGUAGE_CODE):
        notice = Notice(
            mobile=mobile,
            email="",
            subject=_("Your unit account code"),
            body="",
            kind="unit_login_code",
            params={"code": code},
            event_key=f"unit_code:{access.pk}",
            about=application or unit,
        )
    notices_deliver([notice])
    return access


def _code_use(*, mobile: str, code: str, purpose: str) -> UnitAccessCode | None:
    """Use up the open code of ``mobile`` and ``purpose`` matching ``code``; ``None`` when it is
    wrong or expired. A wrong code counts against the open one: callers raise only after their
    transaction, so that the count is kept."""
    now = timezone.now()
    access = (
        UnitAccessCode.objects.select_for_update()
        .filter(mobile=mobile, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at", "-pk")
        .first()
    )
    if access is None:
        return None
    if not hmac.compare_digest(access.code_hash, _code_hash(str(code).strip())):
        access.attempts = F("attempts") + 1
        access.save(update_fields=["attempts"])
        access.refresh_from_db(fields=["attempts"])
        if access.attempts >= _conf("UNIT_CODE_MAX_ATTEMPTS", CODE_MAX_ATTEMPTS):
            access.used_at = now
            access.save(update_fields=["used_at"])
        return None
    access.used_at = now
    access.save(update_fields=["used_at"])
    return access


# --- Units ------------------------------------------------------------------------------------


def _unit_live(unit: Unit) -> Unit:
    """Follow ``merged_into`` to the unit that carries on (merges never form cycles)."""
    seen = set()
    while unit.merged_into_id and unit.pk not in seen:
        seen.add(unit.pk)
        unit = Unit.objects.get(pk=unit.merged_into_id)
    return unit


def unit_for_credit_code(*, credit_code: str, name: str) -> Unit:
    """The (live) unit with ``credit_code``, created with ``name`` when there is none."""
    code = credit_code.strip().upper()
    # Insert-or-keep, then read: the same two queries whether the unit is new or not (a submission's
    # query count does not depend on what is registered), and safe against a concurrent insert.
    Unit.objects.bulk_create([Unit(credit_code=code, name=name[:120])], ignore_conflicts=True)
    return _unit_live(Unit.objects.get(credit_code=code))


def application_unit_link(*, application: Application) -> Unit | None:
    """Link a unit's new application to its unit by credit code (individuals have none). Called by
    :func:`registration.services.applications.application_submit` in its transaction."""
    if application.kind != ApplicantKind.UNIT or not application.invoice_tax_id:
        return None
    unit = unit_for_credit_code(credit_code=application.invoice_tax_id, name=application.unit_name)
    Application.objects.filter(pk=application.pk).update(unit=unit)
    application.unit = unit
    return unit


def _contact_activate(*, unit: Unit, mobile: str, name: str = "", ip: str | None, via: str) -> UnitContact:
    """The contact of ``unit`` with ``mobile``, created or reactivated (audited when it changes)."""
    contact = UnitContact.objects.select_for_update().filter(unit=unit, mobile=mobile).first()
    if contact is None:
        contact = UnitContact.objects.create(unit=unit, mobile=mobile, name=name[:50])
        audit_record(
            actor=None,
            action="unit.contact_added",
            target=unit,
            new={"contact": contact.pk, "via": via},
            ip=ip,
        )
    elif not contact.active:
        contact.active = True
        contact.save(update_fields=["active"])
        audit_record(
            actor=None,
            action="unit.contact_reactivated",
            target=unit,
            new={"contact": contact.pk, "via": via},
            ip=ip,
        )
    return contact


# --- Claim: the private link plus a code to the application's contact phone ------------------------


def unit_claim_code_request(*, application: Application, ip: str | None = None) -> str:
    """Send a code to the application's contact phone so that its holder can link the application
    to the unit account; returns the number it went to. Raises ``ValidationError`` for an
    application that belongs to no unit (an individual, or no credit code)."""
    if application.kind != ApplicantKind.UNIT or not application.invoice_tax_id:
        raise ValidationError(
            _("Only a unit's application (with its credit code) belongs to a unit account.")
        )
    mobile = mobile_normalize(application.contact_phone)
    try:
        mobile_validate(mobile)
    except ValidationError:
        raise ValidationError(
            _("The contact phone of this application is not a mobile number: a code cannot be sent to it.")
        ) from None
    with transaction.atomic():
        _code_send(mobile=mobile, purpose=UnitCodePurpose.CLAIM, application=application)
        audit_record(actor=None, action="unit.claim_code_sent", target=application, ip=ip)
    return mobile


def unit_for_application_link(*, application: Application, code: str, ip: str | None = None) -> UnitContact:
    """Claim: the code sent to the application's contact phone links the application to its unit
    (by credit code) and makes that phone an active contact of the unit. Returns the contact."""
    mobile = mobile_normalize(application.contact_phone)
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        access = _code_use(mobile=mobile, code=code, purpose=UnitCodePurpose.CLAIM)
        if access is None or access.application_id != application.pk:
            contact = None
        else:
            contact = _application_claim(application=application, mobile=mobile, ip=ip)
    if contact is None:
        raise _wrong_code()
    return contact


def _application_claim(*, application: Application, mobile: str, ip: str | None) -> UnitContact:
    unit = (
        _unit_live(application.unit)
        if application.unit_id
        else unit_for_credit_code(credit_code=application.invoice_tax_id, name=application.unit_name)
    )
    if application.unit_id != unit.pk:
        old = application.unit_id
        application.unit = unit
        application.save(update_fields=["unit", "updated_at"])
        audit_record(
            actor=None,
            action="unit.application_linked",
            target=application,
            old={"unit": old},
            new={"unit": unit.pk},
            ip=ip,
        )
    contact = _contact_activate(
        unit=unit, mobile=mobile, name=application.contact_name, ip=ip, via=f"claim:{application.pk}"
    )
    audit_record(
        actor=None, action="unit.application_claimed", target=application, new={"unit": unit.pk}, ip=ip
    )
    return contact


# --- Log-in: mobile number and code -----------------------------------------------------------------


def unit_contacts_for_mobile(mobile: str):
    return (
        UnitContact.objects.select_related("unit")
        .filter(mobile=mobile, active=True, unit__merged_into__isnull=True)
        .order_by("unit__name", "pk")
    )


def unit_login_code_request(*, mobile: str, ip: str | None = None) -> bool:
    """Send a log-in code to ``mobile`` when it is an active contact of some unit. Callers answer
    the same either way; returns whether a code was sent (tests and logs only)."""
    number = mobile_normalize(mobile)
    with transaction.atomic():
        contact = unit_contacts_for_mobile(number).first()
        if contact is None:
            return False
        access = _code_send(mobile=number, purpose=UnitCodePurpose.LOGIN, unit=contact.unit)
        audit_record(
            actor=None, action="unit.login_code_sent", target=contact.unit, new={"code": access.pk}, ip=ip
        )
    return True


def unit_login_code_confirm(*, mobile: str, code: str, ip: str | None = None) -> list[UnitContact]:
    """Check the log-in code of ``mobile``; return its active contacts (one per unit, the first is
    logged in) or raise ``ValidationError``."""
    number = mobile_normalize(mobile)
    with transaction.atomic():
        access = _code_use(mobile=number, code=code, purpose=UnitCodePurpose.LOGIN)
        # Empty also when the contact was removed between the code and now.
        contacts = list(unit_contacts_for_mobile(number)) if access is not None else []
        for contact in contacts:
            audit_record(
                actor=None,
                action="unit.contact_logged_in",
                target=contact.unit,
                new={"contact": contact.pk},
                ip=ip,
            )
    if not contacts:
        raise _wrong_code()
    return contacts


# --- Recovery: credit code + mobile, without an oracle ------------------------------------------------


def _recovery_unit(*, credit_code: str, mobile: str) -> Unit | None:
    """The live unit of ``credit_code`` when ``mobile`` is one of its active contacts or the contact
    phone of one of its applications; ``None`` otherwise."""
    unit = Unit.objects.filter(credit_code=credit_code).first()
    if unit is None:
        return None
    unit = _unit_live(unit)
    if UnitContact.objects.filter(unit=unit, mobile=mobile, active=True).exists():
        return unit
    if Application.objects.filter(unit=unit, contact_phone=mobile, purged_at__isnull=True).exists():
        return unit
    return None


def unit_recover_code_request(*, credit_code: str, mobile: str, ip: str | None = None) -> bool:
    """Lost links: send a code to ``mobile`` when it belongs to the unit of ``credit_code`` (an active
    contact, or the contact phone of one of its applications). Callers answer the same either way
    (never tell whether the credit code or the number is known); returns whether a code was sent."""
    try:
        code = uscc_validate(credit_code)
        number = mobile_validate(mobile_normalize(mobile))
    except ValidationError:
        return False
    with transaction.atomic():
        unit = _recovery_unit(credit_code=code, mobile=number)
        if unit is None:
            return False
        access = _code_send(mobile=number, purpose=UnitCodePurpose.RECOVER, unit=unit)
        audit_record(
            actor=None, action="unit.recovery_code_sent", target=unit, new={"code": access.pk}, ip=ip
        )
    return True


def unit_recover_code_confirm(*, mobile: str, code: str, ip: str | None = None) -> UnitContact:
    """The recovery code of ``mobile`` logs its holder in to the unit (made an active contact when
    the number is the contact phone of one of the unit's applications). Returns the contact."""
    number = mobile_normalize(mobile)
    with transaction.atomic():
        access = _code_use(mobile=number, code=code, purpose=UnitCodePurpose.RECOVER)
        unit = _unit_live(access.unit) if access is not None and access.unit_id else None
        contact = _recovered_contact(unit=unit, mobile=number, ip=ip) if unit is not None else None
    if contact is None:
        raise _wrong_code()
    return contact


def _recovered_contact(*, unit: Unit, mobile: str, ip: str | None) -> UnitContact | None:
    """The active contact of ``unit`` with ``mobile`` (made one when the number is the contact phone
    of one of its applications), audited; ``None`` when the number is no longer the unit's."""
    contact = UnitContact.objects.filter(unit=unit, mobile=mobile, active=True).first()
    if contact is None:
        application = (
            Application.objects.filter(unit=unit, contact_phone=mobile, purged_at__isnull=True)
            .order_by("-submitted_at")
            .first()
        )
        if application is None:
            return None
        contact = _contact_activate(
            unit=unit, mobile=mobile, name=application.contact_name, ip=ip, via="recovery"
        )
    audit_record(actor=None, action="unit.links_recovered", target=unit, new={"contact": contact.pk}, ip=ip)
    return contact


# --- Contacts ---------------------------------------------------------------------------------------


def _actor_repr(by_contact: UnitContact | None) -> dict:
    return {"by_contact": by_contact.pk} if by_contact is not None else {}


def unit_contact_add(
    *,
    unit: Unit,
    mobile: str,
    name: str = "",
    by_contact: UnitContact | None = None,
    by_staff: User | None = None,
    ip: str | None = None,
) -> UnitContact:
    """Add (or reactivate) a contact of ``unit``, by one of its active contacts or by staff."""
    if (by_contact is None) == (by_staff is None):
        raise ValueError("A contact is added by exactly one of by_contact / by_staff.")
    number = mobile_validate(mobile_normalize(mobile))
    name = (name or "").strip()[:50]
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit.pk)
        if unit.merged_into_id:
            raise ValidationError(_("This unit was merged into another one."))
        if (
            by_contact is not None
            and not UnitContact.objects.filter(pk=by_contact.pk, unit=unit, active=True).exists()
        ):
            raise ValidationError(_("Only an active contact of the unit can add contacts."))
        contact = UnitContact.objects.select_for_update().filter(unit=unit, mobile=number).first()
        if contact is not None and contact.active:
            raise ValidationError({"mobile": _("This mobile number is already a contact of the unit.")})
        old = None
        if contact is None:
            contact = UnitContact.objects.create(
                unit=unit, mobile=number, name=name, added_by_contact=by_contact, added_by_staff=by_staff
            )
        else:
            old = {"active": False}
            contact.active = True
            contact.name = name or contact.name
            contact.added_by_contact = by_contact
            contact.added_by_staff = by_staff
            contact.save(update_fields=["active", "name", "added_by_contact", "added_by_staff"])
        audit_record(
            actor=by_staff,
            action="unit.contact_added",
            target=unit,
            old=old,
            new={"contact": contact.pk, "name": contact.name, **_actor_repr(by_contact)},
            ip=ip,
        )
    return contact


def unit_contact_remove(
    *,
    contact: UnitContact,
    by_contact: UnitContact | None = None,
    by_staff: User | None = None,
    ip: str | None = None,
) -> UnitContact:
    """Deactivate a contact (it can no longer log in), by an active contact of the same unit or by
    staff. A contact cannot remove the unit's last active contact (staff can)."""
    if (by_contact is None) == (by_staff is None):
        raise ValueError("A contact is removed by exactly one of by_contact / by_staff.")
    with transaction.atomic():
        contact = UnitContact.objects.select_for_update().select_related("unit").get(pk=contact.pk)
        if (
            by_contact is not None
            and not UnitContact.objects.filter(
                pk=by_contact.pk, unit_id=contact.unit_id, active=True
            ).exists()
        ):
            raise ValidationError(_("Only an active contact of the unit can remove contacts."))
        if not contact.active:
            raise ValidationError(_("This contact was already removed."))
        if by_contact is not None:
            others = UnitContact.objects.filter(unit_id=contact.unit_id, active=True).exclude(pk=contact.pk)
            if not others.exists():
                raise ValidationError(
                    _("The unit's last contact cannot be removed. Add another contact first.")
                )
        contact.active = False
        contact.save(update_fields=["active"])
        audit_record(
            actor=by_staff,
            action="unit.contact_removed",
            target=contact.unit,
            old={"contact": contact.pk, "active": True},
            new={"active": False, **_actor_repr(by_contact)},
            ip=ip,
        )
    return contact


# --- Merge (staff) ----------------------------------------------------------------------------------


@dataclass
class MergeResult:
    applications: int
    contacts_moved: int
    contacts_joined: int


def unit_merge(*, source: Unit, target: Unit, actor: User, ip: str | None = None) -> MergeResult:
    """Merge the duplicate ``source`` into ``target``: its applications and contacts move (a contact
    whose mobile ``target`` has already joins that one), ``source.merged_into`` is set. Audited on both."""
    if source.pk == target.pk:
        raise ValidationError(_("A unit cannot be merged into itself."))
    with transaction.atomic():
        locked = {u.pk: u for u in Unit.objects.select_for_update().filter(pk__in=[source.pk, target.pk])}
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id:
            raise ValidationError(_("%(unit)s was already merged into another unit.") % {"unit": source})
        if target.merged_into_id:
            raise ValidationError(
                _("%(unit)s was merged into another unit: merge into that one.") % {"unit": target}
            )
        applications = Application.objects.filter(unit=source).update(unit=target)
        target_contacts = {c.mobile: c for c in UnitContact.objects.select_for_update().filter(unit=target)}
        moved = joined = 0
        for contact in UnitContact.objects.select_for_update().filter(unit=source):
            existing = target_contacts.get(contact.mobile)
            if existing is None:
                contact.unit = target
                contact.save(update_fields=["unit"])
                moved += 1
                continue
            if contact.active and not existing.active:
                existing.active = True
                existing.save(update_fields=["active"])
            contact.active = False
            contact.save(update_fields=["active"])
            joined += 1
        source.merged_into = target
        source.save(update_fields=["merged_into"])
        result = MergeResult(applications=applications, contacts_moved=moved, contacts_joined=joined)
        details = {
            "applications": applications,
            "contacts_moved": moved,
            "contacts_joined": joined,
        }
        audit_record(
            actor=actor, action="unit.merged", target=source, new={"into": target.pk, **details}, ip=ip
        )
        audit_record(
            actor=actor, action="unit.merged_from", target=target, new={"from": source.pk, **details}, ip=ip
        )
    return result
