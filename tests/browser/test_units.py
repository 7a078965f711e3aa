"""Issue #19 point 6 / #21 point 1 on a phone (375 px): a unit's contact who lost the private link
recovers it with the credit code and a code by SMS, lands on the unit account's home, and copies the
links to pass on: the application's, and each trainee's link to their information form (also inside
WeChat, where the link is shown selected to copy by hand)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORTS, WatchedPage
from tests.browser.test_wechat import WECHAT_UA
from tests.factories import ApplicationFactory, ProgrammeFactory, TraineeFactory, UnitFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_375 = {"width": 375, "height": 812}


def _world():
    unit = UnitFactory(name="广州示例机械有限公司")
    application = ApplicationFactory(
        programme=ProgrammeFactory(name="2026年度安全生产培训"),
        unit=unit,
        unit_name=unit.name,
        invoice_tax_id=unit.credit_code,
        contact_phone="13700004545",
    )
    trainee = TraineeFactory(application=application, name="林学员")
    return unit, application, trainee


def _recover(watched: WatchedPage, live_server, unit, sms_outbox) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/registration/")
    page.get_by_role("link", name="链接丢失了？").first.click()
    page.get_by_label("统一社会信用代码").fill(unit.credit_code)
    page.get_by_label("手机号").fill("13700004545")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("recover")
    page.get_by_role("button", name="发送验证码").click()
    expect(page.get_by_label("短信验证码")).to_be_visible()
    code = next(m.params["code"] for m in sms_outbox if m.mobile == "13700004545")
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="登录").click()


def test_recovery_then_home_then_copy_links_on_a_phone(open_page, live_server, sms_outbox):
    unit, application, trainee = _world()
    watched = open_page("phone")
    page = watched.page
    page.set_viewport_size(PHONE_375)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _recover(watched, live_server, unit, sms_outbox)

    card = page.locator('[data-testid="unit-application"]')
    expect(card).to_have_count(1)
    expect(card).to_contain_text(application.reference)
    expect(card).to_contain_text("2026年度安全生产培训")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("home")
    card.get_by_role("button", name="复制链接").click()
    expect(card.locator("[data-share-status]")).to_have_text("链接已复制，可粘贴到消息中发送。")
    url = f"{live_server.url}/registration/a/{application.access_key}/"
    assert page.evaluate("navigator.clipboard.readText()") == url
    box = card.get_by_role("button", name="复制链接").bounding_box()
    assert box["height"] >= 44

    card.get_by_role("link", name="打开报名").click()
    share = page.locator(f'[data-testid="trainee-{trainee.pk}-share"]')
    share.get_by_role("button", name="复制填表链接").click()
    expect(share.locator("[data-share-status]")).to_have_text("链接已复制，可粘贴到消息中发送。")
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == f"{live_server.url}/registration/t/{trainee.access_key}/"
    )
    watched.assert_no_horizontal_scroll()
    watched.screenshot("application-copied")


def test_in_wechat_the_link_is_shown_selected_to_copy(browser, live_server, sms_outbox, request):
    unit, application, trainee = _world()
    context = browser.new_context(
        **dict(VIEWPORTS["phone"], viewport=PHONE_375), user_agent=WECHAT_UA, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    watched = WatchedPage(context.new_page(), f"{request.node.name}-wechat")
    try:
        page = watched.page
        page.goto(f"{live_server.url}/registration/a/{application.access_key}/")
        share = page.locator(f'[data-testid="trainee-{trainee.pk}-share"]')
        expect(share.locator("[data-share-native]")).to_be_hidden()  # no navigator.share in WeChat
        share.get_by_role("button", name="复制填表链接").click()
        field = share.locator("[data-share-input]")
        expect(field).to_be_visible()
        expect(field).to_have_value(f"{live_server.url}/registration/t/{trainee.access_key}/")
        expect(share.locator("[data-share-status]")).not_to_be_empty()
        assert page.evaluate("document.activeElement.hasAttribute('data-share-input')")
        watched.assert_no_horizontal_scroll()
        watched.screenshot("wechat-copy")
        assert not watched.all_problems(), watched.all_problems()
    finally:
        context.close()
