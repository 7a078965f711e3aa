"""Registration's figures for the staff dashboard and the reviewers' digest (``portal.dashboard``):
sign-ups per day, the review backlog by age; new applications and completed attachments 2."""

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.dashboard import (
    PROGRAMME_SOURCES,
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
)
from portal.roles import REVIEWER

from .models import Programme, Trainee, TraineeStatus

TRAINEES = "admin:registration_trainee_changelist"
# The review backlog's age buckets: (label, more than this many days, at most this many days).
BACKLOG_AGES = ((0, 1), (1, 2), (2, 5), (5, None))


def signups_chart(flt: DashboardFilter) -> Chart:
    """Trainees registered per local day of the range (one query)."""
    rows = (
        Trainee.objects.filter(created_at__gte=flt.start_at, created_at__lt=flt.end_at, **flt.programme_q())
        .annotate(day=TruncDate("created_at", tzinfo=flt.tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    values = per_day(flt, rows)
    return Chart(
        key="signups",
        title=_("Sign-ups per day"),
        kind="bar",
        categories=day_labels(flt),
        series=[Series(_("Trainees registered"), values)],
        note=_("%(total)s in the period") % {"total": sum(values)},
        link=admin_list_url(
            TRAINEES,
            created_at__gte=flt.start_at.isoformat(),
            created_at__lt=flt.end_at.isoformat(),
            **flt.admin_params(),
        ),
        link_label=_("Trainees registered in the period"),
    )


def backlog_chart(flt: DashboardFilter) -> Chart:
    """Trainees awaiting review now, by days waiting since their last status change (one query)."""
    now = timezone.now()
    buckets = {}
    for low, high in BACKLOG_AGES:
        condition = Q(status_changed_at__lte=now - timedelta(days=low))
        if high is not None:
            condition &= Q(status_changed_at__gt=now - timedelta(days=high))
        buckets[f"b{low}"] = Count("pk", filter=condition)
    counts = Trainee.objects.filter(status=TraineeStatus.SUBMITTED, **flt.programme_q()).aggregate(**buckets)
    labels = [
        _("under 1 day"),
        _("1–2 days"),
        _("2–5 days"),
        _("over 5 days"),
    ]
    values = [counts[f"b{low}"] for low, _high in BACKLOG_AGES]
    return Chart(
        key="review_backlog",
        title=_("Review backlog by age"),
        kind="bar",
        categories=labels,
        series=[Series(_("Awaiting review"), values)],
        note=_("%(total)s awaiting review now") % {"total": sum(values)},
        link=admin_list_url(TRAINEES, status__exact=TraineeStatus.SUBMITTED, **flt.admin_params()),
        link_label=_("Trainees awaiting review"),
    )


def new_applications_item(since: datetime, now: datetime) -> DigestItem:
    count = Trainee.objects.filter(
        status=TraineeStatus.SUBMITTED, created_at__gte=since, created_at__lt=now
    ).count()
    return DigestItem(
        label=_("New sign-ups awaiting review"),
        count=count,
        url=admin_list_url(
            TRAINEES, status__exact=TraineeStatus.SUBMITTED, created_at__gte=since.isoformat()
        ),
    )


def attachments2_item(since: datetime, now: datetime) -> DigestItem:
    count = Trainee.objects.filter(
        status=TraineeStatus.SUBMITTED, declared_at__gte=since, declared_at__lt=now
    ).count()
    return DigestItem(
        label=_("Attachments 2 completed, awaiting review"),
        count=count,
        url=admin_list_url(
            TRAINEES, status__exact=TraineeStatus.SUBMITTED, declared_at__gte=since.isoformat()
        ),
    )


def programme_source() -> tuple[list[tuple[int, str]], int | None]:
    """The dashboard's programme filter: every programme (latest first) and the current one."""
    programmes = list(
        Programme.objects.order_by("-year", "-opens_on", "-pk").values_list(
            "pk", "name", "opens_on", "closes_on"
        )
    )
    today = timezone.localdate()
    current = next((pk for pk, _name, opens, closes in programmes if opens <= today <= closes), None)
    if current is None and programmes:
        current = programmes[0][0]
    return [(pk, name) for pk, name, _opens, _closes in programmes], current


def register() -> None:
    if programme_source not in PROGRAMME_SOURCES:
        PROGRAMME_SOURCES.append(programme_source)
    chart_register(ChartSpec(role=REVIEWER, key="signups", provider=signups_chart, order=10))
    chart_register(ChartSpec(role=REVIEWER, key="review_backlog", provider=backlog_chart, order=20))
    digest_item_register(DigestItemSpec(REVIEWER, "new_applications", new_applications_item, order=10))
    digest_item_register(DigestItemSpec(REVIEWER, "attachments2", attachments2_item, order=20))
