"""Announcements: shown between publish and expiry time, pinned first; the home page's latest three,
the list and detail pages, the sanitised text, and writing them in admin."""

import datetime

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from portal.models import Announcement, AuditEntry
from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER
from portal.selectors import announcement_shown, announcements_current, announcements_for_home
from tests.factories import AnnouncementFactory, ProgrammeFactory, StaffFactory

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def _titles(announcements) -> list[str]:
    return [announcement.title for announcement in announcements]


def test_only_published_and_unexpired_announcements_are_shown():
    now = timezone.now()
    shown = AnnouncementFactory(title="已发布", publish_at=now - DAY)
    AnnouncementFactory(title="定时发布", publish_at=now + HOUR)
    AnnouncementFactory(title="已过期", publish_at=now - 2 * DAY, expires_at=now - HOUR)
    still = AnnouncementFactory(title="尚未过期", publish_at=now - 2 * DAY, expires_at=now + HOUR)

    assert set(_titles(announcements_current(now=now))) == {shown.title, still.title}
    # The scheduled one appears once its time comes, the other one leaves at its expiry.
    assert set(_titles(announcements_current(now=now + 2 * HOUR))) == {shown.title, "定时发布"}


def test_pinned_come_first_then_the_latest():
    now = timezone.now()
    AnnouncementFactory(title="旧的", publish_at=now - 3 * DAY)
    AnnouncementFactory(title="置顶旧的", publish_at=now - 5 * DAY, pinned=True)
    AnnouncementFactory(title="新的", publish_at=now - DAY)
    AnnouncementFactory(title="置顶新的", publish_at=now - 4 * DAY, pinned=True)

    assert _titles(announcements_current(now=now)) == ["置顶新的", "置顶旧的", "新的", "旧的"]
    assert _titles(announcements_for_home(now=now)) == ["置顶新的", "置顶旧的", "新的"]


def test_expiry_must_be_after_publication():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        AnnouncementFactory(publish_at=now, expires_at=now - HOUR)


def test_home_page_shows_the_latest_three_pinned_first(client):
    now = timezone.now()
    for day in range(1, 5):
        AnnouncementFactory(title=f"通知第{day}天", publish_at=now - day * DAY)
    AnnouncementFactory(title="明年培训预告", publish_at=now - 9 * DAY, pinned=True)
    AnnouncementFactory(title="未到发布时间", publish_at=now + HOUR, pinned=True)

    page = client.get("/").content.decode()
    positions = [page.find(title) for title in ("明年培训预告", "通知第1天", "通知第2天")]
    assert -1 not in positions and positions == sorted(positions)
    assert "通知第3天" not in page and "未到发布时间" not in page
    assert reverse("portal:announcements") in page


def test_home_page_without_announcements_has_no_section(client):
    AnnouncementFactory(title="已过期", publish_at=timezone.now() - DAY, expires_at=timezone.now() - HOUR)
    page = client.get("/").content.decode()
    assert 'id="home-announcements"' not in page and "已过期" not in page


def test_list_page_shows_what_is_shown_now(client):
    now = timezone.now()
    AnnouncementFactory(title="考试时间调整", publish_at=now - DAY)
    AnnouncementFactory(title="置顶预告", publish_at=now - 2 * DAY, pinned=True)
    AnnouncementFactory(title="草稿明天发布", publish_at=now + DAY)

    response = client.get(reverse("portal:announcements"))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("置顶预告") < page.index("考试时间调整")
    assert "草稿明天发布" not in page


def test_list_page_queries_do_not_grow_with_announcements(client, django_assert_max_num_queries):
    programme = ProgrammeFactory()
    AnnouncementFactory(programme=programme)
    with django_assert_max_num_queries(4) as one:
        client.get(reverse("portal:announcements"))
    for _ in range(12):
        AnnouncementFactory(programme=ProgrammeFactory())
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(reverse("portal:announcements")).content.decode()
    assert page.count("data-announcement=") == 13


def test_home_page_queries_do_not_grow_with_announcements(client, django_assert_max_num_queries):
    AnnouncementFactory(programme=ProgrammeFactory())
    with django_assert_max_num_queries(10) as one:
        client.get("/")
    for _ in range(5):
        AnnouncementFactory(programme=ProgrammeFactory())
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get("/").content.decode()
    assert page.count("data-announcement=") == 3


def test_detail_page_of_a_shown_announcement(client):
    programme = ProgrammeFactory(name="2026年度线上培训")
    announcement = AnnouncementFactory(
        title="考试时间调整的通知", body_html="<p>顺延至<strong>下周一</strong></p>", programme=programme
    )
    page = client.get(reverse("portal:announcement", args=[announcement.pk])).content.decode()
    assert "<h1" in page and "考试时间调整的通知" in page
    assert "<p>顺延至<strong>下周一</strong></p>" in page
    assert reverse("portal:programme", args=[programme.pk]) in page


@pytest.mark.parametrize(
    "when",
    [
        {"publish_at": datetime.timedelta(hours=1)},  # scheduled
        {"publish_at": -datetime.timedelta(days=2), "expires_at": -datetime.timedelta(hours=1)},  # expired
    ],
)
def test_detail_page_of_a_hidden_announcement_is_not_found(client, when):
    now = timezone.now()
    announcement = AnnouncementFactory(**{name: now + delta for name, delta in when.items()})
    assert client.get(reverse("portal:announcement", args=[announcement.pk])).status_code == 404
    assert announcement_shown(pk=announcement.pk) is None


def test_text_goes_through_the_allow_list(client):
    announcement = AnnouncementFactory(
        title="<b>标题</b>",
        body_html='<p onclick="x()">正文</p><script>alert(1)</script><img src=x onerror="alert(2)">'
        '<a href="javascript:evil()">链接</a><a href="https://example.org/">说明</a>',
    )
    for url in (reverse("portal:announcement", args=[announcement.pk]), reverse("portal:announcements"), "/"):
        page = client.get(url).content.decode()
        assert "alert(" not in page and "onerror" not in page and "onclick" not in page, url
        assert "javascript:" not in page and "<b>标题</b>" not in page, url
        assert "&lt;b&gt;标题&lt;/b&gt;" in page, url
    detail = client.get(reverse("portal:announcement", args=[announcement.pk])).content.decode()
    assert "<p>正文</p>" in detail
    assert '<a href="https://example.org/" rel="noopener noreferrer nofollow">说明</a>' in detail


def test_pages_in_english(client):
    AnnouncementFactory(title="Exam date changed", pinned=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("portal:announcements")).content.decode()
    assert '<html lang="en">' in page
    assert ">Announcements</h1>" in page and "Pinned" in page and "Exam date changed" in page
    home = client.get("/").content.decode()
    assert "All announcements" in home


def test_pages_in_chinese(client):
    announcement = AnnouncementFactory(title="考试时间调整的通知", body_html="<p>顺延一天</p>")
    page = client.get(reverse("portal:announcement", args=[announcement.pk])).content.decode()
    assert '<html lang="zh-Hans">' in page
    assert "考试时间调整的通知" in page and "<p>顺延一天</p>" in page


@pytest.mark.parametrize("role", [REVIEWER, COURSE_ADMIN])
def test_reviewers_and_course_admins_write_announcements_in_admin(client, role):
    staff = StaffFactory(role=role)
    client.force_login(staff)
    add_url = reverse("admin:portal_announcement_add")
    form = client.get(add_url)
    assert form.status_code == 200
    publish = timezone.localtime() - HOUR
    response = client.post(
        add_url,
        {
            "title": "2026年度考试时间调整",
            "body_html": "<p>顺延</p><script>alert(1)</script>",
            "programme": "",
            "publish_at_0": publish.strftime("%Y-%m-%d"),
            "publish_at_1": publish.strftime("%H:%M:%S"),
            "expires_at_0": "",
            "expires_at_1": "",
            "pinned": "on",
        },
        REMOTE_ADDR="10.0.0.7",
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    announcement = Announcement.objects.get()
    assert announcement.created_by == staff and announcement.pinned
    assert AuditEntry.objects.filter(action="admin.portal.announcement.add", actor=staff).exists()
    assert announcement_shown(pk=announcement.pk) == announcement

    change = client.get(reverse("admin:portal_announcement_change", args=[announcement.pk])).content.decode()
    assert "<p>顺延</p>" in change and "<script>alert(1)</script>" not in change  # the preview, cleaned


def test_admin_refuses_an_expiry_before_publication(client):
    client.force_login(StaffFactory(role=REVIEWER))
    now = timezone.localtime()
    response = client.post(
        reverse("admin:portal_announcement_add"),
        {
            "title": "错误的时间",
            "body_html": "<p>x</p>",
            "publish_at_0": now.strftime("%Y-%m-%d"),
            "publish_at_1": "10:00:00",
            "expires_at_0": now.strftime("%Y-%m-%d"),
            "expires_at_1": "09:00:00",
        },
    )
    assert response.status_code == 200
    assert not Announcement.objects.exists()


def test_finance_cannot_write_announcements(client):
    client.force_login(StaffFactory(role=FINANCE))
    assert client.get(reverse("admin:portal_announcement_add")).status_code == 403


def test_admin_list_filters_what_is_shown_now(client):
    client.force_login(StaffFactory(role=COURSE_ADMIN))
    now = timezone.now()
    AnnouncementFactory(title="正在显示的公告", programme=ProgrammeFactory())
    AnnouncementFactory(title="明天发布的公告", publish_at=now + DAY)
    AnnouncementFactory(title="昨天过期的公告", publish_at=now - 3 * DAY, expires_at=now - DAY)
    url = reverse("admin:portal_announcement_changelist")
    for shown, title in (
        ("yes", "正在显示的公告"),
        ("scheduled", "明天发布的公告"),
        ("expired", "昨天过期的公告"),
    ):
        page = client.get(url, {"shown": shown}).content.decode()
        others = {"正在显示的公告", "明天发布的公告", "昨天过期的公告"} - {title}
        assert title in page and not any(other in page for other in others), shown


def test_demo_data_loads_the_announcements_once(client):
    from io import StringIO

    from portal import demo

    demo.load(stdout=StringIO())
    demo.load(stdout=StringIO())  # safe to run again
    year = timezone.localdate().year
    assert Announcement.objects.count() == 2
    page = client.get("/").content.decode()
    pinned, change = f"关于{year + 1}年度线上培训的预告", f"{year}年度线上培训考试时间调整的通知"
    assert pinned in page and change in page and page.index(pinned) < page.index(change)
