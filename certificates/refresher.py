"""The refresher rule (复训): when a certificate's holder is due for the refresher training, and who
is due by a day.

A certificate is due ``PORTAL_REFRESHER_INTERVAL_MONTHS`` (default 12) after its issue date
(:func:`certificate_refresher_due`). A holder is one person, found by the keyed hash of their ID
number on the trainee row the certificate was issued to (certificate → enrollment → trainee); only
their latest valid certificate counts. :func:`refresher_holders_due` is the set-based read of the
holders due on or before a day (one query), used by the invitations
(:mod:`certificates.services.refresher`) and the staff lists; the unit's people page and the
personal centre read :func:`refresher_info` through registration's hook (registration never
imports this app).
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from .models import Certificate, CertificateStatus

DEFAULT_INTERVAL_MONTHS = 12
DEFAULT_DUE_SOON_DAYS = 60


def refresher_interval_months() -> int:
    return int(getattr(settings, "PORTAL_REFRESHER_INTERVAL_MONTHS", DEFAULT_INTERVAL_MONTHS))


def months_add(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def refresher_due_from(issue_date: datetime.date) -> datetime.date:
    return months_add(issue_date, refresher_interval_months())


def certificate_refresher_due(*, certificate: Certificate) -> datetime.date:
    """The day the certificate's holder is due for the refresher training."""
    return refresher_due_from(certificate.issue_date)


def issued_on_or_before_for_due(day: datetime.date) -> datetime.date:
    """The latest issue date whose refresher is due on or before ``day``: certificates issued on
    or before it are due by then (exact, also at the ends of months)."""
    months = refresher_interval_months()
    candidate = months_add(day, -months) + datetime.timedelta(days=4)
    while months_add(candidate, months) > day:
        candidate -= datetime.timedelta(days=1)
    return candidate


def refresher_state(due: datetime.date, *, today: datetime.date | None = None) -> str:
    """``"overdue"`` (the day has passed), ``"due_soon"`` (within ``PORTAL_REFRESHER_DUE_SOON_DAYS``)
    or ``"ok"``."""
    today = today or timezone.localdate()
    if due < today:
        return "overdue"
    soon = int(getattr(settings, "PORTAL_REFRESHER_DUE_SOON_DAYS", DEFAULT_DUE_SOON_DAYS))
    if due <= today + datetime.timedelta(days=soon):
        return "due_soon"
    return "ok"


@dataclass(frozen=True)
class RefresherInfo:
    due_on: datetime.date
    state: str  # refresher_state


def refresher_info(*, issue_date: datetime.date, today: datetime.date | None = None) -> RefresherInfo:
    """Due day and state of a certificate issued on ``issue_date`` (registration's hook)."""
    due = refresher_due_from(issue_date)
    return RefresherInfo(due_on=due, state=refresher_state(due, today=today))


def latest_certificates() -> QuerySet[Certificate]:
    """Each holder's latest valid certificate (a later valid one of the same person hides it)."""
    newer = Certificate.objects.filter(
        status=CertificateStatus.VALID,
        enrollment__trainee__id_number_hash=OuterRef("enrollment__trainee__id_number_hash"),
    ).filter(
        # Later issue date, or the same day and a later row.
        issue_date__gt=OuterRef("issue_date")
    )
    same_day_later = Certificate.objects.filter(
        status=CertificateStatus.VALID,
        enrollment__trainee__id_number_hash=OuterRef("enrollment__trainee__id_number_hash"),
        issue_date=OuterRef("issue_date"),
        pk__gt=OuterRef("pk"),
    )
    return (
        Certificate.objects.filter(status=CertificateStatus.VALID)
        .exclude(enrollment__trainee__id_number_hash="")
        .exclude(Exists(newer))
        .exclude(Exists(same_day_later))
    )


def refresher_holders_due(*, on_or_before: datetime.date) -> QuerySet[Certificate]:
    """The latest valid certificates whose refresher is due on or before ``on_or_before``
    (overdue ones included): one query, with the trainee and application joined."""
    return (
        latest_certificates()
        .filter(issue_date__lte=issued_on_or_before_for_due(on_or_before))
        .select_related("enrollment__trainee__application")
        .order_by("issue_date", "pk")
    )
