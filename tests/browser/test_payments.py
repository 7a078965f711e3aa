"""The payment page in a real browser (phone and desktop): no horizontal scroll, report a payment."""

import datetime

import pytest

from payments.models import Payment
from tests.factories import ApplicationFactory, ApprovedTraineeFactory, PaymentSettingsFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_pay_page_and_report_on_phone_and_desktop(live_server, open_page, viewport_name):
    PaymentSettingsFactory(account_number="6200 0000 0000 0000 0001 2345 6789")
    application = ApplicationFactory(unit_name="示例市安康精密机械制造股份有限公司第二分公司")
    trainees = [
        ApprovedTraineeFactory(application=application, name=name) for name in ("张三", "李四", "欧阳娜娜")
    ]
    watched = open_page(viewport_name)
    page = watched.page
    page.goto(f"{live_server.url}/payments/a/{application.access_key}/")
    assert page.get_by_role("heading", level=1).inner_text() == "缴纳培训费"
    watched.assert_no_horizontal_scroll()
    watched.screenshot("pay-page")
    page.get_by_label("付款方式").select_option("bank_transfer")
    page.get_by_label("付款人姓名").fill(application.unit_name)
    page.get_by_label("付款金额（元）").fill("2400.00")
    page.get_by_label("付款人手机号码").fill("13800138000")
    page.get_by_label("交易单号").fill("BROWSER-0001")
    page.get_by_label("付款时间").fill("2026-11-20T10:30")
    page.get_by_role("button", name="提交付款信息").click()
    page.wait_for_selector(".alert-success")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("reported")
    payment = Payment.objects.get()
    assert payment.amount_fen == 240_000 and payment.trainees.count() == len(trainees)


def test_a_mistake_moves_to_the_summary_and_its_field(live_server, open_page):
    """A report with a payment time in the future: the page comes back at its top with the summary
    focused, the summary's link focuses the field, what was typed and prefilled stays."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone
    from playwright.sync_api import expect

    settings_row = PaymentSettingsFactory()
    settings_row.qr_image.save("qr.png", SimpleUploadedFile("qr.png", _png()))
    application = ApplicationFactory()
    ApprovedTraineeFactory(application=application)
    ApprovedTraineeFactory(application=application, training_category="refresher")
    watched = open_page("phone")
    page = watched.page
    page.goto(f"{live_server.url}/payments/a/{application.access_key}/")
    expect(page.get_by_test_id("qr-hint")).to_be_visible()
    # Prefilled: what is due, the unit as payer, now as the time.
    expect(page.get_by_label("付款金额（元）")).to_have_value("1100.00")
    expect(page.get_by_label("付款人姓名")).to_have_value(application.unit_name)
    shown = datetime.datetime.strptime(page.get_by_label("付款时间").input_value(), "%Y-%m-%dT%H:%M")
    assert abs(timezone.make_aware(shown) - timezone.now()) < datetime.timedelta(minutes=3)
    page.get_by_label("付款人手机号码").fill("13800138000")
    page.get_by_label("交易单号").fill("BROWSER-FUTURE")
    future = timezone.localtime() + datetime.timedelta(days=2)
    page.get_by_label("付款时间").fill(future.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="提交付款信息").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary).to_contain_text("付款时间：付款时间不能晚于当前时间。")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("report-mistake")
    summary.get_by_role("link", name="付款时间：付款时间不能晚于当前时间。").click()
    expect(page.get_by_label("付款时间")).to_be_focused()
    expect(page.get_by_label("付款时间")).to_be_in_viewport()
    expect(page.get_by_label("交易单号")).to_have_value("BROWSER-FUTURE")
    assert not Payment.objects.exists()


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (240, 240), "black").save(out, format="PNG")
    return out.getvalue()
