"""The site shell in a real browser, on a phone and on a desktop."""

import re

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_in_chinese_without_horizontal_scroll(live_server, open_page, viewport_name):
    watched = open_page(viewport_name)
    page = watched.page
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.get_by_role("heading", level=1).inner_text().startswith("生产经营单位")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("home")


def test_language_switch_and_back(live_server, open_page, viewport_name):
    watched = open_page(viewport_name)
    page = watched.page
    page.goto(live_server.url + "/")
    if viewport_name == "phone":
        page.get_by_role("button", name="切换导航").click()
    page.get_by_role("button", name="English").click()
    page.wait_for_url(re.compile(r".*/$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Online training")
    watched.screenshot("english")
    if viewport_name == "phone":
        page.get_by_role("button", name="Toggle navigation").click()
    page.get_by_role("button", name="简体中文").click()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"


def test_log_in_with_mobile_number(live_server, open_page, viewport_name):
    UserFactory(mobile="13812345678", name="张三")
    watched = open_page(viewport_name)
    page = watched.page
    page.goto(live_server.url + "/login/")
    page.get_by_label("手机号").fill("+86 138 1234 5678")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").last.click()
    assert page.locator(".alert-danger").first.inner_text().startswith("手机号或密码错误")
    page.get_by_label("手机号").fill("138-1234-5678")
    page.get_by_label("密码").fill("correct-horse-battery")
    page.get_by_role("button", name="登录").last.click()
    page.wait_for_url(live_server.url + "/learning/")  # a trainee lands on the personal centre
    watched.assert_no_horizontal_scroll()
    watched.screenshot("logged-in")
    if viewport_name == "phone":
        page.get_by_role("button", name="切换导航").click()
    assert page.locator(".navbar-text").get_by_text("张三", exact=True).is_visible()
    # The home page offers to continue studying before signing up again.
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="继续学习").click()
    page.wait_for_url(live_server.url + "/learning/")


def test_admin_works_under_the_content_security_policy(live_server, open_page, admin_user):
    watched = open_page("desktop")
    page = watched.page
    page.goto(live_server.url + "/admin/")
    page.locator("#id_username").fill(admin_user.mobile)
    page.locator("#id_password").fill("admin-pass-123")
    page.locator("input[type=submit]").click()
    page.wait_for_url(live_server.url + "/admin/")
    page.goto(live_server.url + "/admin/portal/user/")
    page.locator("#searchbar").fill(admin_user.mobile)
    page.locator("#searchbar").press("Enter")
    page.wait_for_load_state()
    assert page.locator("#result_list").is_visible()
    watched.screenshot("admin-users")
