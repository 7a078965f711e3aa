"""Reads of the certificates app: the trainee's certificates, verification, the mailing deadlines."""

from __future__ import annotations

import hmac
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.workdays import working_days_add

from .models import Certificate, CertificateStatus, MailingStatus

#: Working days before the deadline from which an unmailed certificate counts as "due soon".
DUE_SOON_WORKING_DAYS = 2


def certificate_for_user(*, user, pk: int) -> Certificate | None:
    """The certificate if it belongs to ``user`` (their own enrollment), else ``None``."""
    if not user.is_authenticated:
        return None
    return Certificate.objects.filter(pk=pk, enrollment__user=user).first()


def certificate_for_staff(*, user, pk: int) -> Certificate | None:
    if not (user.is_active and user.is_staff and user.has_perm("certificates.view_certificate")):
        return None
    return Certificate.objects.filter(pk=pk).first()


def certificate_verify(*, number: str, name: str) -> Certificate | None:
    """The certificate with this number whose holder has this name; ``None`` for any mismatch."""
    from .services.verification import name_normalize

    number = (number or "").strip().upper()
    wanted = name_normalize(name)
    if not number or not wanted or len(number) > 20:
        return None
    certificate = Certificate.objects.filter(number=number).first()
    if certificate is None:
        return None
    if not hmac.compare_digest(name_normalize(certificate.holder_name).encode(), wanted.encode()):
        return None
    return certificate


def certificate_by_key(*, number: str, key: str) -> Certificate | None:
    """The certificate the QR code points at (number plus its verification key)."""
    number = (number or "").strip().upper()
    if not number or not key or len(number) > 20 or len(key) > 32:
        return None
    certificate = Certificate.objects.filter(number=number).first()
    if certificate is None or not hmac.compare_digest(certificate.verify_key.encode(), str(key).encode()):
        return None
    return certificate


# ---------------------------------------------------------------------------------------------
# Mailing deadlines (the same working-day calendar as invoices)


def mailing_state(
    certificate: Certificate, *, today: date | None = None, soon_from: date | None = None
) -> str:
    """ "mailed", "overdue", "due_soon", "pending" or "revoked"."""
    if certificate.status == CertificateStatus.REVOKED:
        return "revoked"
    if certificate.mailing_status == MailingStatus.MAILED:
        return "mailed"
    today = today or timezone.localdate()
    if today > certificate.mail_due_on:
        return "overdue"
    soon_from = soon_from or due_soon_limit(today=today)
    if certificate.mail_due_on <= soon_from:
        return "due_soon"
    return "pending"


def due_soon_limit(*, today: date | None = None) -> date:
    """Unmailed certificates due on or before this date are "due soon"."""
    return working_days_add(start=today or timezone.localdate(), days=DUE_SOON_WORKING_DAYS)


def certificates_to_mail() -> QuerySet[Certificate]:
    return Certificate.objects.filter(status=CertificateStatus.VALID).exclude(
        mailing_status=MailingStatus.MAILED
    )


def certificates_mailing_overdue(*, today: date | None = None) -> QuerySet[Certificate]:
    return certificates_to_mail().filter(mail_due_on__lt=today or timezone.localdate())


def certificates_mailing_due_soon(*, today: date | None = None) -> QuerySet[Certificate]:
    today = today or timezone.localdate()
    return certificates_to_mail().filter(mail_due_on__gte=today, mail_due_on__lte=due_soon_limit(today=today))


def mailing_filter(
    queryset: QuerySet[Certificate], state: str, *, today: date | None = None
) -> QuerySet[Certificate]:
    """Narrow an admin queryset to one mailing state."""
    today = today or timezone.localdate()
    unmailed = Q(status=CertificateStatus.VALID) & ~Q(mailing_status=MailingStatus.MAILED)
    if state == "overdue":
        return queryset.filter(unmailed, mail_due_on__lt=today)
    if state == "due_soon":
        return queryset.filter(unmailed, mail_due_on__gte=today, mail_due_on__lte=due_soon_limit(today=today))
    if state == "pending":
        return queryset.filter(unmailed)
    if state == "mailed":
        return queryset.filter(mailing_status=MailingStatus.MAILED)
    return queryset


# ---------------------------------------------------------------------------------------------
# The trainee's pipeline (learning's personal centre): certificate and mailing steps


def pipeline_prefetch(enrollments) -> None:
    """One query for the certificates of the enrollments shown (read by the steps below)."""
    enrollments = list(enrollments)
    by_enrollment = {
        row.enrollment_id: row
        for row in Certificate.objects.filter(enrollment__in=[e.pk for e in enrollments])
    }
    for enrollment in enrollments:
        enrollment._pipeline_certificate = by_enrollment.get(enrollment.pk)


def _prefetched(enrollment) -> Certificate | None:
    if not hasattr(enrollment, "_pipeline_certificate"):
        pipeline_prefetch([enrollment])
    return enrollment._pipeline_certificate


def pipeline_certificate_step(enrollment, step):
    certificate = _prefetched(enrollment)
    if certificate is None:
        if step.state != "blocked" and enrollment.status == "passed":
            step.state = "current"
            step.detail = _("Being issued")
        return step
    if certificate.status == CertificateStatus.REVOKED:
        step.state = "blocked"
        step.detail = _("Revoked")
        step.when = certificate.revoked_at
        return step
    step.state = "done"
    step.detail = _("Certificate No. %(number)s") % {"number": certificate.number}
    step.when = certificate.issued_at
    step.extra = {
        **step.extra,
        "template": "certificates/_pipeline_certificate.html",
        "download_url": reverse("certificates:download", args=[certificate.pk]),
    }
    return step


def pipeline_mailing_step(enrollment, step):
    certificate = _prefetched(enrollment)
    if certificate is None or certificate.status == CertificateStatus.REVOKED:
        return step
    if certificate.mailing_status == MailingStatus.MAILED:
        step.state = "done"
        step.detail = _("%(courier)s, tracking number %(tracking)s") % {
            "courier": certificate.courier,
            "tracking": certificate.tracking_number,
        }
        step.when = certificate.mailed_at
        step.extra = {**step.extra, "tracking_number": certificate.tracking_number}
    else:
        step.state = "current"
        step.detail = _("To be mailed by %(date)s (cash on delivery, to %(address)s)") % {
            "date": certificate.mail_due_on.isoformat(),
            "address": certificate.mail_address,
        }
    return step


#: The most certificates the dashboard's certificate section lists (the counts are complete).
DASHBOARD_ROWS = 200


def dashboard_section(request) -> dict:
    """The staff dashboard's certificate section: what must be mailed, late first.

    Its header count and its table cover the same certificates: overdue, due soon and the rest not
    mailed yet (“not due yet”; before, the header counted those while the table left them out and
    said “None.”). The groups are counted in full; the first :data:`DASHBOARD_ROWS` certificates by
    deadline are listed. Three queries (the holiday table, the counts, the rows)."""
    today = timezone.localdate()
    soon_limit = due_soon_limit(today=today)
    to_mail = certificates_to_mail()
    counts = to_mail.aggregate(
        overdue=Count("pk", filter=Q(mail_due_on__lt=today)),
        due_soon=Count("pk", filter=Q(mail_due_on__gte=today, mail_due_on__lte=soon_limit)),
        later=Count("pk", filter=Q(mail_due_on__gt=soon_limit)),
    )
    rows = {"overdue": [], "due_soon": [], "later": []}
    for certificate in to_mail.order_by("mail_due_on", "number")[:DASHBOARD_ROWS]:
        group = mailing_state(certificate, today=today, soon_from=soon_limit)
        rows[group if group in rows else "later"].append(certificate)
    listed = sum(len(group) for group in rows.values())
    return {
        "title": _("Certificates to mail"),
        "template": "certificates/admin/_dashboard_section.html",
        **rows,
        "counts": counts,
        "to_mail": sum(counts.values()),
        "not_listed": sum(counts.values()) - listed,
        "today": today,
        "can_view": request.user.has_perm("certificates.view_certificate"),
    }


def certificates_for_issuer(
    *, passed_from: date, passed_to: date, unsent_only: bool
) -> QuerySet[Certificate]:
    """Valid certificates whose exam was passed on these days (local dates, both included),
    optionally only those not yet sent to the issuer."""
    queryset = Certificate.objects.filter(
        status=CertificateStatus.VALID, passed_at__date__gte=passed_from, passed_at__date__lte=passed_to
    )
    return queryset.filter(issuer_batch__isnull=True) if unsent_only else queryset


def issuer_sent_filter(queryset: QuerySet[Certificate], value: str) -> QuerySet[Certificate]:
    """``yes``: sent to the issuer (in a batch); ``no``: not yet sent."""
    if value == "yes":
        return queryset.filter(issuer_batch__isnull=False)
    if value == "no":
        return queryset.filter(issuer_batch__isnull=True)
    return queryset
