"""Learning's figures for the staff dashboard and the course administrators' digest
(``portal.dashboard``): study accounts opened within the promise, study progress across trainees;
lesson videos whose processing failed."""

from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Q
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
    digest_item_register,
    rate,
)
from portal.roles import COURSE_ADMIN, REVIEWER
from registration.models import Programme, Trainee, TrainingCategory

from .models import Enrollment, EnrollmentStatus, Lesson, LessonProgress, VideoStatus, class_hour_ms
from .selectors.accounts import account_promise_days

ENROLLMENTS = "admin:learning_enrollment_changelist"


def accounts_chart(flt: DashboardFilter) -> Chart:
    """Trainees who paid in the range: study account opened within the promise (2 days), late, or
    not yet (overdue / still within the promise). One query."""
    now = timezone.now()
    promise = timedelta(days=account_promise_days())
    opened = Q(enrollment__isnull=False)
    counts = Trainee.objects.filter(
        paid_at__gte=flt.start_at, paid_at__lt=flt.end_at, **flt.programme_q()
    ).aggregate(
        on_time=Count("pk", filter=opened & Q(enrollment__opened_at__lte=F("paid_at") + promise)),
        late=Count("pk", filter=opened & Q(enrollment__opened_at__gt=F("paid_at") + promise)),
        overdue=Count("pk", filter=Q(enrollment__isnull=True, paid_at__lt=now - promise)),
        waiting=Count("pk", filter=Q(enrollment__isnull=True, paid_at__gte=now - promise)),
    )
    values = [counts["on_time"], counts["late"], counts["overdue"], counts["waiting"]]
    return Chart(
        key="accounts",
        title=_("Study accounts opened within %(days)s days of payment") % {"days": promise.days},
        kind="bar",
        categories=[_("Opened on time"), _("Opened late"), _("Not opened, overdue"), _("Not opened yet")],
        series=[Series(_("Trainees paid in the period"), values)],
        note=_("%(rate)s%% opened on time") % {"rate": rate(counts["on_time"], sum(values))},
        link=admin_list_url("admin:learning_pipelinedashboard_changelist", programme=flt.programme_id),
        link_label=_("Pipeline dashboard (accounts overdue)"),
    )


# The study progress reads every lesson's credited time of the active accounts (hundreds of
# thousands of rows in a large programme: most of a second); the figure is kept this long in the
# cache (Redis in production), so the dashboard computes it at most once per programme in that time.
PROGRESS_CACHE_SECONDS = 600
PROGRESS_KEYS = ["not_started", "under_half", "over_half", "complete", "passed", "expired"]


def progress_counts(*, programme_id: int | None) -> dict[str, int]:
    """Study accounts now: active ones by the share of their class hours credited, passed, expired
    (one query).

    SQL of its own: the credited time is summed per active enrollment once (a grouped derived
    table), then every account is counted into its bucket in the same pass; the ORM would repeat
    the per-enrollment sum in each bucket's condition.
    """
    tables = {
        "enrollment": Enrollment._meta.db_table,
        "progress": LessonProgress._meta.db_table,
        "trainee": Trainee._meta.db_table,
        "programme": Programme._meta.db_table,
    }
    programme_sql = "AND e.programme_id = %s" if programme_id else ""
    programme_params = [programme_id] if programme_id else []
    active, passed, expired = EnrollmentStatus.ACTIVE, EnrollmentStatus.PASSED, EnrollmentStatus.EXPIRED
    sql = f"""
        SELECT
            SUM(CASE WHEN status = %s AND done <= 0 THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = %s AND done > 0 AND done * 2 < required THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = %s AND done * 2 >= required AND done < required THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = %s AND done >= required THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = %s THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = %s THEN 1 ELSE 0 END)
        FROM (
            SELECT e.status AS status, COALESCE(d.ms, 0) AS done,
                CASE WHEN t.training_category = %s THEN p.hours_refresher ELSE p.hours_initial END * %s
                    AS required
            FROM {tables["enrollment"]} e
            JOIN {tables["trainee"]} t ON t.id = e.trainee_id
            JOIN {tables["programme"]} p ON p.id = e.programme_id
            LEFT JOIN (
                SELECT lp.enrollment_id, SUM(lp.credited_ms) AS ms
                FROM {tables["progress"]} lp JOIN {tables["enrollment"]} e ON e.id = lp.enrollment_id
                WHERE e.status = %s {programme_sql}
                GROUP BY lp.enrollment_id
            ) d ON d.enrollment_id = e.id
            WHERE 1 = 1 {programme_sql}
        ) accounts
    """  # noqa: S608 - table names from the models, every value a parameter
    params = [active, active, active, active, passed, expired, TrainingCategory.REFRESHER, class_hour_ms()]
    params += [active, *programme_params, *programme_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return {key: value or 0 for key, value in zip(PROGRESS_KEYS, row, strict=True)}


def progress_chart(flt: DashboardFilter) -> Chart:
    """The study progress of the programme's accounts now (cached ``PROGRESS_CACHE_SECONDS``)."""
    key = f"portal.dashboard:progress:{flt.programme_id or 'all'}"
    cached = cache.get(key)
    if cached is None:
        cached = {"counts": progress_counts(programme_id=flt.programme_id), "at": timezone.now()}
        cache.set(key, cached, PROGRESS_CACHE_SECONDS)
    counts = cached["counts"]
    return Chart(
        key="progress",
        title=_("Study progress across trainees"),
        kind="bar",
        categories=[
            _("Not started"),
            _("Under half the hours"),
            _("Half or more"),
            _("Hours complete"),
            _("Exam passed"),
            pgettext("dashboard", "Expired"),
        ],
        series=[Series(_("Study accounts"), [counts[key] for key in PROGRESS_KEYS])],
        note=_("All study accounts of the programme by class hours credited, as of %(time)s")
        % {"time": f"{timezone.localtime(cached['at']):%H:%M}"},
        link=admin_list_url(ENROLLMENTS, status__exact=EnrollmentStatus.ACTIVE, **flt.admin_params()),
        link_label=_("Active study accounts"),
    )


def failed_videos_item(since: datetime, now: datetime) -> DigestItem:
    """Not a count of new events: the active lessons whose video failed processing at ``now``."""
    count = Lesson.objects.filter(video_status=VideoStatus.FAILED, is_active=True).count()
    return DigestItem(
        label=_("Lesson videos that failed processing"),
        count=count,
        url=admin_list_url("admin:learning_lesson_changelist", video_status__exact=VideoStatus.FAILED),
    )


def register() -> None:
    chart_register(ChartSpec(role=REVIEWER, key="accounts", provider=accounts_chart, order=30))
    chart_register(ChartSpec(role=COURSE_ADMIN, key="progress", provider=progress_chart, order=10))
    digest_item_register(DigestItemSpec(COURSE_ADMIN, "failed_videos", failed_videos_item, order=10))
