"""The staff dashboard (portal.dashboard): the figures on built state, who sees which role, a query
count that does not grow with the trainees, links that open the filtered lists, escaped SVG."""

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from certificates.models import MailingStatus
from learning.models import EnrollmentStatus
from payments.models import Invoice, InvoiceStatus, PaymentStatus
from portal.dashboard import CHARTS, Chart, DashboardFilter, Series
from portal.dashboard.selectors import dashboard_filter
from portal.dashboard.svg import chart_svg
from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER
from registration.models import Trainee, TraineeStatus
from tests.factories import (
    ApplicationFactory,
    ApprovedTraineeFactory,
    AttemptFactory,
    CertificateFactory,
    EnrollmentFactory,
    ExamTemplateFactory,
    PaidTraineeFactory,
    PaymentFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
)

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"


def figure(key: str, flt: DashboardFilter) -> Chart:
    (spec,) = [spec for spec in CHARTS if spec.key == key]
    return spec.provider(flt)


def values(chart: Chart) -> dict[str, float]:
    return dict(zip(chart.categories, chart.series[0].values, strict=True))


@pytest.fixture
def programme():
    return ProgrammeFactory()


@pytest.fixture
def flt(programme):
    today = timezone.localdate()
    return DashboardFilter(programme_id=programme.pk, start=today - dt.timedelta(days=29), end=today)


def test_url_is_admin_dashboard():
    assert reverse("admin:staff_dashboard") == URL


def test_defaults_current_programme_and_last_30_days(programme):
    flt = dashboard_filter(programme_id=None, start=None, end=None, default_programme_id=programme.pk)
    assert flt.programme_id == programme.pk
    assert flt.end == timezone.localdate() and (flt.end - flt.start).days == 29
    assert (
        dashboard_filter(programme_id=0, start=None, end=None, default_programme_id=programme.pk).programme_id
        is None
    )


def test_signups_per_day_in_the_programme_and_range(programme, flt):
    application = ApplicationFactory(programme=programme)
    TraineeFactory.create_batch(3, application=application)
    old = TraineeFactory(application=application)
    Trainee.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    outside = TraineeFactory(application=application)
    Trainee.objects.filter(pk=outside.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    TraineeFactory()  # another programme
    chart = figure("signups", flt)
    today, three_days = timezone.localdate(), timezone.localdate() - dt.timedelta(days=3)
    assert values(chart)[f"{today:%m-%d}"] == 3
    assert values(chart)[f"{three_days:%m-%d}"] == 1
    assert sum(chart.series[0].values) == 4 and len(chart.categories) == 30
    everyone = DashboardFilter(programme_id=None, start=flt.start, end=flt.end)
    assert sum(figure("signups", everyone).series[0].values) == 5


def test_review_backlog_by_age(programme, flt):
    application = ApplicationFactory(programme=programme)
    now = timezone.now()
    for days in (0.2, 1.5, 3, 3, 9):
        trainee = TraineeFactory(application=application)
        Trainee.objects.filter(pk=trainee.pk).update(status_changed_at=now - dt.timedelta(days=days))
    ApprovedTraineeFactory(application=application)  # approved: not in the backlog
    assert figure("review_backlog", flt).series[0].values == [1, 1, 2, 1]


def test_payments_reported_and_confirmed(programme, flt):
    application = ApplicationFactory(programme=programme)
    PaymentFactory(application=application, status=PaymentStatus.REPORTED)
    PaymentFactory(application=application, status=PaymentStatus.CONFIRMED, decided_at=timezone.now())
    PaymentFactory(status=PaymentStatus.REPORTED)  # another programme
    chart = figure("payments", flt)
    reported, confirmed = chart.series
    assert reported.values[-1] == 2 and confirmed.values[-1] == 1
    assert sum(reported.values) == 2 and sum(confirmed.values) == 1


def test_invoices_within_five_working_days(programme, flt):
    today = timezone.localdate()
    application = ApplicationFactory(programme=programme)

    def invoice(due_on, status=InvoiceStatus.REQUESTED, issued_at=None):
        payment = PaymentFactory(application=application, status=PaymentStatus.CONFIRMED)
        Invoice.objects.create(
            payment=payment,
            buyer_name="示例",
            email="b@example.org",
            due_on=due_on,
            status=status,
            issued_at=issued_at,
        )

    now = timezone.now()
    invoice(today - dt.timedelta(days=2), InvoiceStatus.ISSUED, now - dt.timedelta(days=4))  # on time
    invoice(today - dt.timedelta(days=5), InvoiceStatus.ISSUED, now - dt.timedelta(days=1))  # late
    invoice(today - dt.timedelta(days=1))  # open, overdue
    invoice(today)  # open, due today
    assert figure("invoices", flt).series[0].values == [1, 1, 1, 1]


def test_accounts_opened_within_the_promise(programme, flt):
    now = timezone.now()
    EnrollmentFactory(
        trainee__application__programme=programme,
        trainee__paid_at=now - dt.timedelta(days=3),
        opened_at=now - dt.timedelta(days=2),
    )
    EnrollmentFactory(
        trainee__application__programme=programme,
        trainee__paid_at=now - dt.timedelta(days=6),
        opened_at=now - dt.timedelta(days=1),
    )
    application = ApplicationFactory(programme=programme)
    PaidTraineeFactory(application=application, paid_at=now - dt.timedelta(days=4))  # overdue
    PaidTraineeFactory(application=application, paid_at=now - dt.timedelta(hours=5))  # still in time
    assert figure("accounts", flt).series[0].values == [1, 1, 1, 1]


def test_study_progress_across_trainees(programme, flt):
    EnrollmentFactory(trainee__application__programme=programme)
    EnrollmentFactory(trainee__application__programme=programme, status=EnrollmentStatus.PASSED)
    EnrollmentFactory(trainee__application__programme=programme, status=EnrollmentStatus.EXPIRED)
    EnrollmentFactory()  # another programme
    assert figure("progress", flt).series[0].values == [1, 0, 0, 0, 1, 1]


def test_study_progress_counts_credited_hours(programme, flt):
    from learning.models import LessonProgress
    from tests.factories import LessonFactory

    half = EnrollmentFactory(trainee__application__programme=programme)
    done = EnrollmentFactory(trainee__application__programme=programme)
    hour_ms = 45 * 60_000
    LessonProgress.objects.create(enrollment=half, lesson=LessonFactory(), credited_ms=20 * hour_ms)
    for _n in range(2):
        LessonProgress.objects.create(enrollment=done, lesson=LessonFactory(), credited_ms=16 * hour_ms)
    assert figure("progress", flt).series[0].values == [0, 0, 1, 1, 0, 0]


def test_study_progress_is_kept_in_the_cache_for_a_while(programme, flt):
    EnrollmentFactory(trainee__application__programme=programme)
    assert figure("progress", flt).series[0].values[0] == 1
    EnrollmentFactory(trainee__application__programme=programme)
    assert figure("progress", flt).series[0].values[0] == 1  # the cached figure
    cache.clear()
    assert figure("progress", flt).series[0].values[0] == 2


def test_first_attempt_and_resit_pass_rates(programme, flt):
    template = ExamTemplateFactory()
    first_ok = EnrollmentFactory(trainee__application__programme=programme)
    resitter = EnrollmentFactory(trainee__application__programme=programme)
    AttemptFactory(enrollment=first_ok, template=template)
    AttemptFactory(enrollment=resitter, template=template, passed=False, score=40)
    AttemptFactory(enrollment=resitter, template=template, number=2, passed=False, score=50)
    AttemptFactory(enrollment=resitter, template=template, number=3)
    chart = figure("pass_rates", flt)
    assert chart.series[0].values == [50.0, 50.0]
    assert [s.values for s in chart.extra] == [[2, 2], [1, 1]]


def test_certificates_mailed_within_ten_working_days(programme, flt):
    today, now = timezone.localdate(), timezone.now()

    def certificate(**fields):
        return CertificateFactory(enrollment__trainee__application__programme=programme, **fields)

    certificate(mailing_status=MailingStatus.MAILED, mailed_at=now, mail_due_on=today)  # on time
    certificate(mailing_status=MailingStatus.MAILED, mailed_at=now, mail_due_on=today - dt.timedelta(days=1))
    certificate(mail_due_on=today - dt.timedelta(days=1))  # overdue
    certificate()  # due later
    assert figure("mailing", flt).series[0].values == [1, 1, 1, 1]


# ---------------------------------------------------------------------------------------------
# The page


def _sections(response) -> list[str]:
    return [section["role"] for section in response.context["sections"]]


@pytest.mark.parametrize(
    ("roles", "sections"),
    [
        ([REVIEWER], [REVIEWER]),
        ([FINANCE], [FINANCE]),
        ([COURSE_ADMIN], [COURSE_ADMIN]),
        ([FINANCE, REVIEWER], [REVIEWER, FINANCE]),  # allowed: a member of both groups
    ],
)
def test_each_role_sees_its_own_sections(client, programme, roles, sections):
    user = StaffFactory()
    user.groups.add(*Group.objects.filter(name__in=roles))
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert _sections(response) == sections
    html = response.content.decode()
    for role in (REVIEWER, FINANCE, COURSE_ADMIN):
        assert (f'id="role-{role}"' in html) == (role in sections)


def test_superuser_sees_every_role_and_staff_without_role_is_refused(client, programme):
    client.force_login(StaffFactory(is_superuser=True))
    assert _sections(client.get(URL)) == [REVIEWER, FINANCE, COURSE_ADMIN]
    client.force_login(StaffFactory())
    assert client.get(URL).status_code == 403
    client.force_login(StaffFactory(is_staff=False))
    assert client.get(URL).status_code == 302  # to the admin log-in


def test_filters_and_each_chart_has_svg_table_and_link(client, programme):
    other = ProgrammeFactory()
    TraineeFactory(application__programme=programme)
    client.force_login(StaffFactory(is_superuser=True))
    response = client.get(URL, {"programme": other.pk, "start": "2026-01-01", "end": "2026-01-10"})
    flt = response.context["filter"]
    assert (flt.programme_id, flt.start, flt.end) == (other.pk, dt.date(2026, 1, 1), dt.date(2026, 1, 10))
    html = response.content.decode()
    charts = [chart for section in response.context["sections"] for chart in section["charts"]]
    assert {c.key for c in charts} == {
        "signups",
        "review_backlog",
        "accounts",
        "mailing",
        "payments",
        "invoices",
        "progress",
        "pass_rates",
    }
    for chart in charts:
        assert f'aria-describedby="chart-{chart.key}-table"' in html
        assert f'<table id="chart-{chart.key}-table">' in html
        assert f'<title id="chart-{chart.key}-title">' in html
        assert chart.link
    signups = next(c for c in charts if c.key == "signups")
    assert len(signups.categories) == 10 and sum(signups.series[0].values) == 0


def test_links_open_the_filtered_admin_lists(client, programme):
    TraineeFactory.create_batch(2, application__programme=programme)
    TraineeFactory()  # another programme
    client.force_login(StaffFactory(is_superuser=True))
    response = client.get(URL, {"programme": programme.pk})
    urls = [chart.link for s in response.context["sections"] for chart in s["charts"]]
    urls += [item.url for s in response.context["sections"] for item in s["alerts"]["items"]]
    assert len(urls) == 8 + 6
    for url in urls:
        parts = urlsplit(url)
        page = client.get(parts.path, dict(parse_qsl(parts.query)))
        assert page.status_code == 200, url  # an unknown filter would redirect to ?e=1
    backlog = next(c for s in response.context["sections"] for c in s["charts"] if c.key == "review_backlog")
    parts = urlsplit(backlog.link)
    listing = client.get(parts.path, dict(parse_qsl(parts.query)))
    assert listing.context["cl"].result_count == 2
    assert dict(parse_qsl(parts.query)) == {
        "status__exact": TraineeStatus.SUBMITTED,
        "programme__id__exact": str(programme.pk),
    }


def _build(programme, template, n: int) -> None:
    """``n`` trainees across the pipeline: submitted, paid with accounts, passed with certificates."""
    application = ApplicationFactory(programme=programme)
    for i in range(n):
        stage = i % 4
        if stage == 0:
            TraineeFactory(application=application)
        elif stage == 1:
            PaidTraineeFactory(application=application)
        elif stage == 2:
            enrollment = EnrollmentFactory(trainee__application=application)
            AttemptFactory(enrollment=enrollment, template=template, passed=False, score=10)
        else:
            certificate = CertificateFactory(enrollment__trainee__application=application)
            AttemptFactory(enrollment=certificate.enrollment, template=template)
            PaymentFactory(application=application, status=PaymentStatus.CONFIRMED, decided_at=timezone.now())


def test_queries_do_not_grow_with_the_trainees(client, programme, django_assert_max_num_queries, monkeypatch):
    monkeypatch.setattr("learning.dashboard.PROGRESS_CACHE_SECONDS", 0)  # computed on every request here
    client.force_login(StaffFactory(is_superuser=True))
    client.get(URL)  # warm the session and the working-day calendar's cache
    counts = []
    template = ExamTemplateFactory()
    for n in (5, 50):
        _build(programme, template, n)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"programme": programme.pk})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert (
        sum(
            c.series[0].values[-1]
            for s in response.context["sections"]
            for c in s["charts"]
            if c.key == "signups"
        )
        == 55
    )
    with django_assert_max_num_queries(counts[1]):
        client.get(URL, {"programme": programme.pk})


def test_svg_escapes_names():
    chart = Chart(
        key="x",
        title='<script>alert("t")</script>',
        kind="stacked",
        categories=["A&B", "<b>"],
        series=[Series("</title><script>", [1, 2]), Series("二", [3, 0])],
    )
    svg = chart_svg(chart, dom_id="c")
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in svg
    assert "A&amp;B" in svg and "&lt;/title&gt;&lt;script&gt;" in svg
    assert svg.count("<rect") == 2 + 4  # the legend's two keys and the four bars
    assert 'role="img"' in svg and 'aria-labelledby="c-title"' in svg and 'aria-describedby="c-table"' in svg


def test_svg_line_and_percent():
    chart = Chart(
        key="y", title="t", kind="line", unit="%", categories=["a", "b"], series=[Series("s", [50.0, 100.0])]
    )
    svg = chart_svg(chart, dom_id="d")
    assert "<polyline" in svg and svg.count("<circle") == 2 and ">100%</text>" in svg


def test_admin_index_links_to_the_dashboard_for_staff_with_a_role(client):
    client.force_login(StaffFactory(role=FINANCE))
    assert f'href="{URL}"' in client.get("/admin/").content.decode()
    client.force_login(StaffFactory())
    assert f'href="{URL}"' not in client.get("/admin/").content.decode()


def test_page_in_english(client, programme, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(StaffFactory(role=COURSE_ADMIN))
    html = client.get(URL).content.decode()
    assert "First-attempt and resit pass rates" in html and "Study progress across trainees" in html


def test_dates_the_wrong_way_round_are_swapped_and_bad_ones_ignored(client, programme):
    client.force_login(StaffFactory(role=REVIEWER))
    flt = client.get(URL, {"start": "2026-03-10", "end": "2026-03-01"}).context["filter"]
    assert (flt.start, flt.end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 10))
    flt = client.get(URL, {"start": "not a date"}).context["filter"]
    assert flt.end == timezone.localdate() and flt.programme_id == programme.pk
