"""WeChat's built-in browser (portal/wechat.py): the flag, and the overlay that replaces downloads."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from portal.wechat import request_in_wechat, wechat_browser_is
from tests.factories import CompleteTraineeFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db

WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2203A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5197 MMWEBSDK/20230504 "
    "MMWEBID/1234 MicroMessenger/8.0.37.2380(0x2800253D) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN "
    "ABI/arm64"
)
WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.38(0x18002629) NetType/WIFI Language/zh_CN"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.5 Mobile/15E148 Safari/604.1"
)
OVERLAY = 'id="wechat-overlay"'


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [(WECHAT_ANDROID, True), (WECHAT_IPHONE, True), (SAFARI_IPHONE, False), ("", False), (None, False)],
)
def test_wechat_is_recognised_by_its_user_agent(user_agent, expected):
    assert wechat_browser_is(user_agent) is expected
    request = RequestFactory().get("/", HTTP_USER_AGENT=user_agent or "")
    assert request_in_wechat(request) is expected


def test_pages_in_wechat_carry_the_flag_and_the_overlay(client):
    ProgrammeFactory()
    response = client.get(reverse("registration:start"), HTTP_USER_AGENT=WECHAT_ANDROID)
    html = response.content.decode()
    assert response.context["in_wechat"] is True
    assert "<body" in html and "data-in-wechat" in html
    assert html.count(OVERLAY) == 1
    assert 'role="dialog"' in html and 'aria-modal="true"' in html
    assert "请在手机浏览器中打开本页" in html and "在浏览器打开" in html and "复制链接" in html
    assert "/static/js/wechat.js" in html and "/static/css/wechat.css" in html
    # the roster template is a download: marked for the overlay
    assert f'href="{reverse("registration:roster_template")}" data-download' in html
    assert "User-Agent" in response["Vary"]


def test_other_browsers_get_neither_the_flag_nor_the_overlay(client):
    ProgrammeFactory()
    response = client.get(reverse("registration:start"), HTTP_USER_AGENT=SAFARI_IPHONE)
    html = response.content.decode()
    assert response.context["in_wechat"] is False
    assert OVERLAY not in html and "data-in-wechat" not in html and "wechat.js" not in html
    # the link itself is unchanged: it downloads as before
    assert f'href="{reverse("registration:roster_template")}" data-download' in html
    assert "User-Agent" in response["Vary"]


def test_overlay_in_english(client):
    client.cookies["django_language"] = "en"
    response = client.get("/", HTTP_USER_AGENT=WECHAT_IPHONE)
    html = response.content.decode()
    assert "Open this page in your phone" in html and "cannot download files" in html
    assert "Copy the link" in html and "在浏览器打开" in html


def test_every_download_link_a_trainee_or_unit_sees_is_marked(client):
    ProgrammeFactory()
    trainee = CompleteTraineeFactory()
    html = client.get(
        reverse("registration:attachment2", args=[trainee.access_key]), HTTP_USER_AGENT=WECHAT_ANDROID
    ).content.decode()
    print_url = reverse("registration:attachment2_print", args=[trainee.access_key])
    assert f'href="{print_url}" data-download' in html
    unit_form = client.get(reverse("registration:unit_register"), HTTP_USER_AGENT=WECHAT_ANDROID)
    assert "data-download>" in unit_form.content.decode()  # the Excel template in the import help
    certificate = render_to_string(
        "certificates/_pipeline_certificate.html",
        {"step": {"extra": {"download_url": "/certificates/1/pdf/"}}},
    )
    assert 'href="/certificates/1/pdf/" data-download' in certificate


def test_photo_inputs_offer_camera_and_gallery_in_wechat(client):
    trainee = CompleteTraineeFactory()
    html = client.get(
        reverse("registration:attachment2", args=[trainee.access_key]), HTTP_USER_AGENT=WECHAT_ANDROID
    ).content.decode()
    assert html.count('accept="image/*"') == 3
