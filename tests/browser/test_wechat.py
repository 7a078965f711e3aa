"""Issue 19, point 1: the portal inside WeChat's built-in browser (its user agent, a phone).

WeChat's browser does not download files: a download link opens an overlay that says how to open
the page in the phone's browser, with the link ready to copy; elsewhere the link downloads as
before. Attachment 2's photos upload in WeChat as anywhere else.
"""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from registration.models import Trainee
from tests.browser.conftest import SCREENSHOTS, VIEWPORTS, WatchedPage
from tests.factories import ProgrammeFactory, TraineeFactory

pytestmark = pytest.mark.django_db(transaction=True)

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2203A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5197 MMWEBSDK/20230504 "
    "MMWEBID/1234 MicroMessenger/8.0.37.2380(0x2800253D) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN "
    "ABI/arm64"
)


@pytest.fixture
def wechat_page(browser, request):
    """Factory: a WatchedPage on the phone viewport with WeChat's user agent (``wechat=False``: the
    same phone's own browser)."""
    contexts, pages = [], []

    def factory(*, wechat: bool = True) -> WatchedPage:
        options = dict(VIEWPORTS["phone"], locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
        if wechat:
            options["user_agent"] = WECHAT_UA
        context = browser.new_context(**options)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = WatchedPage(context.new_page(), f"{request.node.name}-{'wechat' if wechat else 'phone'}")
        pages.append(page)
        return page

    yield factory
    problems = [p for page in pages for p in page.all_problems()]
    for context in contexts:
        context.close()
    assert not problems, "problems in the browser:\n" + "\n".join(problems)


def _image(path, size, color) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return str(path)


def _overlay_shown_for(watched: WatchedPage, link, expected_url: str) -> None:
    """Tap ``link``: the overlay opens (focus inside, the link ready to copy), nothing downloads;
    copy, then Esc closes it and focus returns to the link."""
    page = watched.page
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    link.click()
    dialog = page.get_by_role("dialog", name="请在手机浏览器中打开本页")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.getElementById('wechat-overlay').contains(document.activeElement)")
    expect(dialog).to_contain_text("点击微信右上角的“···”。")
    expect(dialog).to_contain_text("在浏览器打开")
    expect(page.locator("#wechat-overlay-link")).to_have_value(expected_url)
    watched.assert_no_horizontal_scroll()
    # the overlay is fixed over the visible part of the page: a screenshot of that part
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{watched.name}-overlay.png"))
    dialog.get_by_role("button", name="复制链接").click()
    expect(page.locator("#wechat-overlay-status")).to_have_text("链接已复制，请粘贴到手机浏览器中打开。")
    assert page.evaluate("navigator.clipboard.readText()") == expected_url
    page.keyboard.press("Tab")  # focus stays in the dialog
    assert page.evaluate("document.getElementById('wechat-overlay').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.hasAttribute('data-download')")
    # the close button closes it too
    link.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="关闭").first.click()
    expect(dialog).to_be_hidden()
    page.wait_for_timeout(300)
    assert downloads == []


def test_download_link_in_wechat_shows_the_overlay(live_server, wechat_page):
    ProgrammeFactory()
    watched = wechat_page()
    watched.page.goto(live_server.url + "/registration/")
    link = watched.page.get_by_role("link", name="下载 Excel 报名表模板")
    _overlay_shown_for(watched, link, live_server.url + "/registration/roster-template.xlsx")


def test_download_link_outside_wechat_downloads_as_before(live_server, wechat_page):
    ProgrammeFactory()
    watched = wechat_page(wechat=False)
    page = watched.page
    page.goto(live_server.url + "/registration/")
    assert page.locator("#wechat-overlay").count() == 0
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel 报名表模板").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_attachment2_photos_upload_in_wechat_and_the_print_link_explains(live_server, wechat_page, tmp_path):
    trainee = TraineeFactory(application__programme=ProgrammeFactory())
    watched = wechat_page()
    page = watched.page
    page.goto(f"{live_server.url}/registration/t/{trainee.access_key}/")
    for field in ("#id_photo", "#id_id_front", "#id_id_back"):
        expect(page.locator(field)).to_have_attribute("accept", "image/*")
    page.locator("#id_education").select_option("bachelor")
    page.locator("#id_safety_years").fill("6")
    page.locator("#id_work_unit").fill("示例市安康机械有限公司")
    page.locator("#id_work_unit_address").fill("示例市工业大道 8 号")
    page.locator("#id_mailing_address").fill("示例市工业大道 8 号 3 栋")
    page.locator("#id_work_history").fill("2015—2020 车间主任；2020 至今 安全管理部经理")
    page.locator("#id_photo").set_input_files(_image(tmp_path / "photo.jpg", (354, 496), (40, 90, 200)))
    page.locator("#id_id_front").set_input_files(_image(tmp_path / "front.jpg", (856, 540), (220, 220, 220)))
    page.locator("#id_id_back").set_input_files(_image(tmp_path / "back.jpg", (856, 540), (200, 200, 200)))
    page.locator("#id_declaration_name").fill(trainee.name)
    boxes = page.locator("input[type=checkbox][name^=consent_]")
    for index in range(boxes.count()):
        boxes.nth(index).check()
    page.locator("main form button[type=submit].btn-primary").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success")).to_be_visible()
    trainee = Trainee.objects.get(pk=trainee.pk)
    assert trainee.attachment2_complete and trainee.photo and trainee.id_front and trainee.id_back
    watched.screenshot("attachment-2-saved")
    link = page.get_by_role("link", name="打印版登记表（PDF）").first
    _overlay_shown_for(watched, link, f"{live_server.url}/registration/t/{trainee.access_key}/print.pdf")


def test_unit_registered_outside_the_area_is_asked_to_confirm(live_server, wechat_page):
    """Issue 19, point 5: the question shows as soon as a credit code from elsewhere is typed."""
    ProgrammeFactory()
    watched = wechat_page()
    page = watched.page
    page.goto(live_server.url + "/registration/unit/")
    box = page.locator("#area-confirm")
    expect(box).to_be_hidden()
    page.locator("#id_invoice_tax_id").fill("91440300000000777H")  # Shenzhen (check character aside)
    expect(box).to_be_visible()
    expect(box).to_contain_text("本单位参训人员在广州市行政区域内工作")
    watched.screenshot("area-question")
    page.locator("#id_invoice_tax_id").fill("914401010000007770")  # Guangzhou
    expect(box).to_be_hidden()
