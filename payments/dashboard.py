"""Payments' figures for the staff dashboard and the finance digest (``portal.dashboard``):
payments reported vs confirmed per day, invoices issued within their 5 working days; new payment
reports and invoices due."""

from datetime import datetime

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from portal.dashboard import (
    Chart,
    ChartSpec,
    DashboardFilter,
    DigestItem,
    DigestItemSpec,
    Series,
    admin_list_url,
    chart_register,
    day_labels,
    digest_item_register,
    per_day,
    rate,
)
from portal.roles import FINANCE

from . import selectors
from .models import Invoice, InvoiceStatus, Payment, PaymentStatus

PAYMENTS = "admin:payments_payment_changelist"
INVOICES = "admin:payments_invoice_changelist"


def payments_chart(flt: DashboardFilter) -> Chart:
    """Payments reported per day (by the payer or from a statement) and confirmed per day (two queries)."""
    payments = Payment.objects.filter(**flt.programme_q("application__programme_id"))
    reported = (
        payments.filter(reported_at__gte=flt.start_at, reported_at__lt=flt.end_at)
        .annotate(day=TruncDate("reported_at", tzinfo=flt.tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    confirmed = (
        payments.filter(
            status=PaymentStatus.CONFIRMED, decided_at__gte=flt.start_at, decided_at__lt=flt.end_at
        )
        .annotate(day=TruncDate("decided_at", tzinfo=flt.tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    reported_values, confirmed_values = per_day(flt, reported), per_day(flt, confirmed)
    return Chart(
        key="payments",
        title=_("Payments reported and confirmed per day"),
        kind="line",
        categories=day_labels(flt),
        series=[
            Series(pgettext("dashboard", "Reported"), reported_values),
            Series(pgettext("dashboard", "Confirmed"), confirmed_values),
        ],
        note=_("%(reported)s reported, %(confirmed)s confirmed in the period")
        % {"reported": sum(reported_values), "confirmed": sum(confirmed_values)},
        link=admin_list_url(
            PAYMENTS,
            status__exact=PaymentStatus.REPORTED,
            **flt.admin_params("application__programme__id__exact"),
        ),
        link_label=_("Payments awaiting confirmation"),
    )


def invoices_chart(flt: DashboardFilter) -> Chart:
    """Invoices due in the range: issued by their deadline (5 working days), late, or still open (one query)."""
    today = timezone.localdate()
    issued = Q(status=InvoiceStatus.ISSUED)
    open_ = Q(status=InvoiceStatus.REQUESTED)
    counts = Invoice.objects.filter(
        due_on__gte=flt.start, due_on__lte=flt.end, **flt.programme_q("payment__application__programme_id")
    ).aggregate(
        on_time=Count("pk", filter=issued & Q(issued_at__date__lte=F("due_on"))),
        late=Count("pk", filter=issued & Q(issued_at__date__gt=F("due_on"))),
        overdue=Count("pk", filter=open_ & Q(due_on__lt=today)),
        pending=Count("pk", filter=open_ & Q(due_on__gte=today)),
    )
    values = [counts["on_time"], counts["late"], counts["overdue"], counts["pending"]]
    issued_total = counts["on_time"] + counts["late"]
    return Chart(
        key="invoices",
        title=_("Invoices issued within 5 working days"),
        kind="bar",
        categories=[_("Issued on time"), _("Issued late"), _("Open, overdue"), _("Open, not yet due")],
        series=[Series(_("Invoices due in the period"), values)],
        note=_("%(rate)s%% of the issued invoices on time") % {"rate": rate(counts["on_time"], issued_total)},
        link=admin_list_url(INVOICES, queue="overdue"),
        link_label=_("Overdue invoices"),
    )


def payments_reported_item(since: datetime, now: datetime) -> DigestItem:
    count = Payment.objects.filter(
        status=PaymentStatus.REPORTED, reported_at__gte=since, reported_at__lt=now
    ).count()
    return DigestItem(
        label=_("Payments reported, awaiting confirmation"),
        count=count,
        url=admin_list_url(PAYMENTS, status__exact=PaymentStatus.REPORTED),
    )


def invoices_due_item(since: datetime, now: datetime) -> DigestItem:
    """Not a count of new events: the invoices overdue or due within a working day at ``now``."""
    limit = selectors.invoice_due_soon_limit(today=timezone.localdate(now))
    count = selectors.invoices_to_issue().filter(due_on__lte=limit).count()
    return DigestItem(
        label=_("Invoices overdue or due within a working day"),
        count=count,
        url=admin_list_url(INVOICES, queue="todo"),
    )


def register() -> None:
    chart_register(ChartSpec(role=FINANCE, key="payments", provider=payments_chart, order=10))
    chart_register(ChartSpec(role=FINANCE, key="invoices", provider=invoices_chart, order=20))
    digest_item_register(DigestItemSpec(FINANCE, "payments_reported", payments_reported_item, order=10))
    digest_item_register(DigestItemSpec(FINANCE, "invoices_due", invoices_due_item, order=20))
