"""The programme and announcement pages on a 375 px phone: nothing scrolls sideways, tap targets of
44 px, a sign-up button leads to the chosen programme's form."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import AnnouncementFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db(transaction=True)

DAY = datetime.timedelta(days=1)
NARROW_PHONE = {"width": 375, "height": 812}


def _world():
    today = timezone.localdate()
    year = today.year
    open_programme = ProgrammeFactory(
        name=f"{year}年度非高危行业生产经营单位主要负责人和安全生产管理人员线上培训（第二期）",
        opens_on=today - 20 * DAY,
        closes_on=today + 40 * DAY,
    )
    ProgrammeFactory(
        name=f"{year + 1}年度线上培训", year=year + 1, opens_on=today + 60 * DAY, closes_on=today + 200 * DAY
    )
    ProgrammeFactory(
        name=f"{year - 1}年度线上培训", year=year - 1, opens_on=today - 400 * DAY, closes_on=today - 40 * DAY
    )
    AnnouncementFactory(
        title=f"{year}年度线上培训考试时间调整的通知",
        body_html="<p>原定周六的考试顺延至下周一 9:00。</p><table><tr>"
        + "".join(f"<td>AQ2026000{n:03d}</td>" for n in range(8))  # wider than a phone
        + "</tr></table>",
        programme=open_programme,
        publish_at=timezone.now() - DAY,
    )
    AnnouncementFactory(
        title=f"关于{year + 1}年度线上培训的预告", pinned=True, publish_at=timezone.now() - 3 * DAY
    )
    return open_programme


def _assert_tap_targets(page, selector: str) -> None:
    boxes = [page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())]
    assert boxes, selector
    small = [box for box in boxes if box is None or box["height"] < 44]
    assert not small, f"{selector}: {small}"


def test_programme_list_and_sign_up_on_a_phone(live_server, open_page):
    programme = _world()
    watched = open_page("phone")
    page = watched.page
    page.set_viewport_size(NARROW_PHONE)
    page.goto(live_server.url + "/programmes/")
    assert page.locator("h1").count() == 1
    watched.assert_no_horizontal_scroll()
    watched.screenshot("programme-list")
    assert page.locator("article[data-state=open] a.btn").count() == 2  # unit and individual, open only
    assert page.locator("article[data-state=upcoming] a.btn").count() == 0
    assert page.locator("article[data-state=closed] a.btn").count() == 0
    _assert_tap_targets(page, "article a.btn")
    _assert_tap_targets(page, "article h3 a")

    page.locator("article[data-state=open]").get_by_role("link", name="单位报名").click()
    page.wait_for_url(f"**/registration/unit/?programme={programme.pk}")
    assert programme.name in page.locator("main").inner_text()
    watched.assert_no_horizontal_scroll()

    page.goto(live_server.url + f"/programmes/{programme.pk}/")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("programme-detail")


def test_announcements_on_the_home_page_and_their_pages_on_a_phone(live_server, open_page):
    _world()
    year = timezone.localdate().year
    watched = open_page("phone")
    page = watched.page
    page.set_viewport_size(NARROW_PHONE)
    page.goto(live_server.url + "/")
    items = page.locator("#announcements [data-announcement] a.list-link")
    assert items.nth(0).inner_text().endswith(f"关于{year + 1}年度线上培训的预告")  # pinned first
    assert items.nth(1).inner_text() == f"{year}年度线上培训考试时间调整的通知"
    _assert_tap_targets(page, "#announcements a")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("home-announcements")

    items.nth(1).click()
    page.wait_for_url("**/announcements/*/")
    assert page.get_by_role("heading", level=1).inner_text() == f"{year}年度线上培训考试时间调整的通知"
    watched.assert_no_horizontal_scroll()  # the eight-column table fits (or scrolls in its own box)
    watched.screenshot("announcement")

    page.goto(live_server.url + "/announcements/")
    watched.assert_no_horizontal_scroll()
    _assert_tap_targets(page, "main a.list-link")
