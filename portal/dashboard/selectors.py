"""What a staff member sees on the dashboard and in the digest: their roles' charts and alerts."""

from dataclasses import replace
from datetime import date, datetime, timedelta

from django.utils import timezone

from portal.models import StaffDigest
from portal.roles import ROLES

from . import CHARTS, DIGEST_ITEMS, PROGRAMME_SOURCES, Chart, DashboardFilter, DigestItem

DEFAULT_DAYS = 30
MAX_DAYS = 366


def user_roles(user) -> list[str]:
    """The staff roles whose sections ``user`` sees: a superuser all, others their groups'."""
    if not (user.is_active and user.is_staff):
        return []
    if user.is_superuser:
        return list(ROLES)
    names = {group.name for group in user.groups.all()}
    return [role for role in ROLES if role in names]


def dashboard_filter(
    *, programme_id: int | None, start: date | None, end: date | None, default_programme_id: int | None
) -> DashboardFilter:
    """The filter with its defaults: the current programme and the last 30 days up to today.

    ``programme_id`` 0 means every programme; a range longer than a year is cut to its last year;
    dates given the wrong way round are swapped.
    """
    today = timezone.localdate()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    if programme_id is None:
        programme_id = default_programme_id
    return DashboardFilter(programme_id=programme_id or None, start=start, end=end)


def dashboard_sections(*, roles: list[str], flt: DashboardFilter) -> list[dict]:
    """Per role: its label, its alerts and its charts (a fixed number of queries per chart)."""
    sections = []
    now = timezone.now()
    for role in roles:
        charts: list[Chart] = [spec.provider(flt) for spec in CHARTS if spec.role == role]
        sections.append(
            {
                "role": role,
                "label": ROLES[role],
                "charts": charts,
                "alerts": dashboard_alerts(role=role, now=now),
            }
        )
    return sections


def digest_items(*, role: str, since: datetime, now: datetime) -> list[DigestItem]:
    """The alerts of ``role``'s digest: what is new since ``since`` (and what is due now)."""
    return [replace(spec.provider(since, now), key=spec.key) for spec in DIGEST_ITEMS if spec.role == role]


def staff_digest_since(*, role: str, before: datetime) -> datetime:
    """Where the next digest of ``role`` counts from: the previous slot, or a day before ``before``."""
    previous = (
        StaffDigest.objects.filter(role=role, slot_at__lt=before)
        .order_by("-slot_at")
        .values_list("slot_at", flat=True)
        .first()
    )
    return previous or before - timedelta(days=1)


def dashboard_alerts(*, role: str, now: datetime) -> dict:
    """The role's digest as the dashboard shows it: the counts since the last digest sent."""
    since = staff_digest_since(role=role, before=now)
    return {"since": since, "items": digest_items(role=role, since=since, now=now)}


def programme_choices() -> tuple[list[tuple[int, str]], int | None]:
    """The programmes of the filter and the current one (from the registered source)."""
    return PROGRAMME_SOURCES[0]() if PROGRAMME_SOURCES else ([], None)
