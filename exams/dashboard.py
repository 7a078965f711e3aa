"""Exams' figures for the staff dashboard and the course administrators' digest
(``portal.dashboard``): first-attempt and resit pass rates; exam templates the bank cannot fill."""

from datetime import datetime

from django.db.models import Count, Q
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
    digest_item_register,
    rate,
)
from portal.roles import COURSE_ADMIN
from registration.models import CertificateType

from .models import Attempt, AttemptStatus, ExamTemplate
from .selectors import bank_pool, template_shortfalls


def pass_rates_chart(flt: DashboardFilter) -> Chart:
    """Papers submitted in the range: pass rate of first attempts and of resits (one query)."""
    first, resit = Q(number=1), Q(number__gt=1)
    counts = Attempt.objects.filter(
        status=AttemptStatus.SUBMITTED,
        submitted_at__gte=flt.start_at,
        submitted_at__lt=flt.end_at,
        **flt.programme_q("enrollment__programme_id"),
    ).aggregate(
        first=Count("pk", filter=first),
        first_passed=Count("pk", filter=first & Q(passed=True)),
        resit=Count("pk", filter=resit),
        resit_passed=Count("pk", filter=resit & Q(passed=True)),
    )
    return Chart(
        key="pass_rates",
        title=_("First-attempt and resit pass rates"),
        kind="bar",
        unit="%",
        categories=[_("First attempts"), _("Resits")],
        series=[
            Series(
                _("Pass rate"),
                [
                    rate(counts["first_passed"], counts["first"]),
                    rate(counts["resit_passed"], counts["resit"]),
                ],
            )
        ],
        extra=[
            Series(_("Papers"), [counts["first"], counts["resit"]]),
            Series(pgettext("dashboard", "Passed"), [counts["first_passed"], counts["resit_passed"]]),
        ],
        note=_("Papers submitted in the period"),
        link=admin_list_url(
            "admin:exams_attempt_changelist",
            status__exact=AttemptStatus.SUBMITTED,
            **flt.admin_params("enrollment__programme__id__exact"),
        ),
        link_label=_("Submitted papers"),
    )


def short_templates_item(since: datetime, now: datetime) -> DigestItem:
    """Not a count of new events: the active templates the question bank cannot fill now
    (``exams.selectors.template_shortfalls``; one query for the templates and rules, one per
    certificate type for the bank)."""
    templates = ExamTemplate.objects.filter(is_active=True).prefetch_related("rules")
    pools = {kind: bank_pool(kind) for kind in CertificateType.values}
    count = sum(
        1
        for template in templates
        if template_shortfalls(list(template.rules.all()), pools[template.certificate_type])
    )
    return DigestItem(
        label=_("Exam templates with too few questions in the bank"),
        count=count,
        url=admin_list_url("admin:exams_examtemplate_changelist", is_active__exact=1),
    )


def register() -> None:
    chart_register(ChartSpec(role=COURSE_ADMIN, key="pass_rates", provider=pass_rates_chart, order=20))
    digest_item_register(DigestItemSpec(COURSE_ADMIN, "short_templates", short_templates_item, order=20))
