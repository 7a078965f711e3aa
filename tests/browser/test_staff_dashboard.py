"""The staff dashboard (/admin/dashboard/) in a browser: charts drawn, tables behind them, no
horizontal scrolling on a phone or at 1366 px, and each chart's link opens its admin list."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from playwright.sync_api import expect

from payments.models import PaymentStatus
from portal.roles import FINANCE, REVIEWER
from tests.browser.a11y import assert_fits_viewport
from tests.factories import ApplicationFactory, PaymentFactory, ProgrammeFactory, StaffFactory, TraineeFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _login(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_dashboard_charts_fit_and_link_to_the_lists(live_server, open_page, viewport_name):
    application = ApplicationFactory(programme=ProgrammeFactory(name="<b>二〇二六年度</b>培训"))
    TraineeFactory.create_batch(3, application=application)
    PaymentFactory(application=application, status=PaymentStatus.REPORTED)
    user = StaffFactory()
    user.groups.add(*Group.objects.filter(name__in=[REVIEWER, FINANCE]))
    watched = open_page(viewport_name)
    page = watched.page
    _login(page, live_server, user)
    page.goto(f"{live_server.url}/admin/dashboard/")
    expect(page.locator("#role-reviewer svg.dashboard-chart").first).to_be_visible()
    expect(page.locator("#role-finance svg.dashboard-chart").first).to_be_visible()
    assert page.locator("#role-course_admin").count() == 0
    # The programme's name is shown as text, never as markup.
    expect(page.locator("#dashboard-scope")).to_contain_text("<b>二〇二六年度</b>培训")
    assert_fits_viewport(page)
    watched.screenshot("dashboard")
    page.locator("#chart-signups details summary").click()
    expect(page.locator("#chart-signups-table")).to_be_visible()
    assert_fits_viewport(page)
    page.locator("#chart-review_backlog .dashboard-link a").click()
    expect(page).to_have_url(
        f"{live_server.url}/admin/registration/trainee/?status__exact=submitted&programme__id__exact={application.programme_id}"
    )
    watched.screenshot("backlog-list")
