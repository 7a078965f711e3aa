"""Certificates' figure for the staff dashboard (``portal.dashboard``): certificates mailed within
their 10 working days."""

from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.dashboard import Chart, ChartSpec, DashboardFilter, Series, admin_list_url, chart_register, rate
from portal.roles import REVIEWER

from .models import Certificate, CertificateStatus, MailingStatus


def mailing_chart(flt: DashboardFilter) -> Chart:
    """Valid certificates issued in the range: mailed by their deadline, late, or not yet (overdue /
    still in time). One query."""
    today = timezone.localdate()
    mailed = Q(mailing_status=MailingStatus.MAILED)
    unmailed = ~mailed
    counts = Certificate.objects.filter(
        status=CertificateStatus.VALID,
        issued_at__gte=flt.start_at,
        issued_at__lt=flt.end_at,
        **flt.programme_q("enrollment__programme_id"),
    ).aggregate(
        on_time=Count("pk", filter=mailed & Q(mailed_at__date__lte=F("mail_due_on"))),
        late=Count("pk", filter=mailed & Q(mailed_at__date__gt=F("mail_due_on"))),
        overdue=Count("pk", filter=unmailed & Q(mail_due_on__lt=today)),
        pending=Count("pk", filter=unmailed & Q(mail_due_on__gte=today)),
    )
    values = [counts["on_time"], counts["late"], counts["overdue"], counts["pending"]]
    return Chart(
        key="mailing",
        title=_("Certificates mailed within 10 working days"),
        kind="bar",
        categories=[_("Mailed on time"), _("Mailed late"), _("Not mailed, overdue"), _("Not mailed yet")],
        series=[Series(_("Certificates issued in the period"), values)],
        note=_("%(rate)s%% of the mailed certificates on time")
        % {"rate": rate(counts["on_time"], counts["on_time"] + counts["late"])},
        link=admin_list_url("admin:certificates_certificate_changelist", mailing="overdue"),
        link_label=_("Certificates overdue for mailing"),
    )


def register() -> None:
    chart_register(ChartSpec(role=REVIEWER, key="mailing", provider=mailing_chart, order=40))
