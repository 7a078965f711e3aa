"""The staff digests: one e-mail per staff member of a role at the configured times of working days."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.http import site_url
from portal.models import StaffDigest
from portal.notifications import Notice, notices_deliver
from portal.roles import ROLES
from portal.workdays import is_workday

from . import digest_times_parse
from .selectors import digest_items, staff_digest_since


def staff_digest_slot(*, now: datetime) -> datetime | None:
    """The latest configured digest time (``PORTAL_STAFF_DIGEST_TIMES``) at or before ``now`` on
    its local day, or ``None`` before the first one or on a day off (``portal.workdays``)."""
    local = timezone.localtime(now)
    if not is_workday(local.date()):
        return None
    passed = [
        moment for moment in digest_times_parse(settings.PORTAL_STAFF_DIGEST_TIMES) if moment <= local.time()
    ]
    if not passed:
        return None
    return datetime.combine(local.date(), max(passed), tzinfo=local.tzinfo)


def staff_digest_send(*, role: str, now: datetime) -> int:
    """E-mail every active member of ``role`` with an address one digest for the current slot.

    The slot is claimed once (a ``StaffDigest`` row per role and slot): a second run for the same
    slot sends nothing. The digest lists the counts since the previous slot with links to the
    filtered admin lists (absolute, ``PORTAL_SITE_URL``); when every count is 0 nobody is mailed.
    Returns the number of recipients (0: nothing sent).
    """
    if role not in ROLES:
        raise ValueError(f"Unknown staff role {role!r}.")
    slot = staff_digest_slot(now=now)
    if slot is None:
        return 0
    since = staff_digest_since(role=role, before=slot)
    with translation.override(settings.LANGUAGE_CODE):  # the labels, in the staff's language
        items = digest_items(role=role, since=since, now=slot)
    with transaction.atomic():
        digest, created = StaffDigest.objects.get_or_create(
            role=role,
            slot_at=slot,
            defaults={"since": since, "counts": {item.key: item.count for item in items}},
        )
        if not created:
            return 0
        pending = [item for item in items if item.count]
        if not pending:
            return 0
        recipients = list(
            get_user_model()
            .objects.filter(groups__name=role, is_active=True, is_staff=True)
            .exclude(email="")
            .order_by("pk")
            .values_list("pk", "email")
            .distinct()
        )
        if not recipients:
            return 0
        with translation.override(settings.LANGUAGE_CODE):
            local_slot, local_since = timezone.localtime(slot), timezone.localtime(since)
            subject = _("%(role)s digest %(time)s: %(count)s to look at") % {
                "role": ROLES[role],
                "time": f"{local_slot:%Y-%m-%d %H:%M}",
                "count": sum(item.count for item in pending),
            }
            lines = [_("Since %(since)s:") % {"since": f"{local_since:%Y-%m-%d %H:%M}"}, ""]
            for item in pending:
                lines += [f"{item.label}: {item.count}", f"  {site_url(item.url)}", ""]
            lines.append(_("Dashboard: %(url)s") % {"url": site_url(reverse("admin:staff_dashboard"))})
        notices_deliver(
            [
                Notice(
                    mobile="",
                    email=email,
                    subject=subject,
                    body="\n".join(lines),
                    kind="staff_digest",
                    event_key=f"staff_digest:{role}:{slot.isoformat()}:user:{pk}",
                )
                for pk, email in recipients
            ]
        )
        digest.recipients = len(recipients)
        digest.save(update_fields=["recipients"])
    return len(recipients)


def staff_digests_send(*, now: datetime) -> dict[str, int]:
    """Every role's digest for the current slot (the beat task)."""
    return {role: staff_digest_send(role=role, now=now) for role in ROLES}
