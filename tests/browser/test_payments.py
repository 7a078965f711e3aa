"""The payment page in a real browser (phone and desktop): no horizontal scroll, report a payment."""

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
