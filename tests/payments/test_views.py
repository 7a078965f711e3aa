import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from payments.models import Payment, PaymentStatus
from portal.roles import REVIEWER
from registration.models import TraineeStatus
from tests.factories import (
    ApplicationFactory,
    ApprovedTraineeFactory,
    PaidTraineeFactory,
    PaymentFactory,
    StaffFactory,
    TraineeFactory,
)

pytestmark = pytest.mark.django_db


def pay_url(application):
    return reverse("payments:application_pay", kwargs={"access_key": application.access_key})


def form_data(trainees, **overrides):
    data = {
        "channel": "bank_transfer",
        "trainees": [t.pk for t in trainees],
        "payer_name": "示例制造有限公司",
        "amount": "2400.00",
        "payer_mobile": "13800138000",
        "transaction_no": "BANK-0001",
        "paid_at": "2026-11-20T10:30",
        "invoice_buyer_name": "示例制造有限公司",
        "invoice_tax_id": "91350100M000100Y43",
        "invoice_email": "invoice@example.com",
    }
    data.update(overrides)
    return data


def test_path_and_unknown_key(client, application):
    assert pay_url(application) == f"/payments/a/{application.access_key}/"
    assert client.get("/payments/a/not-a-key/").status_code == 404


def test_page_shows_dues_methods_and_memo(
    client, three_trainees, payment_settings, django_assert_max_num_queries
):
    application = three_trainees[0].application
    ApprovedTraineeFactory(application=application, status=TraineeStatus.SUBMITTED)
    PaymentFactory(application=application, trainees=three_trainees[:1], amount_fen=80_000)
    with django_assert_max_num_queries(12):
        response = client.get(pay_url(application))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd class="mb-0 fs-5 text-warning-emphasis" data-testid="pending-total">¥800.00</dd>' in html
    assert 'data-testid="outstanding-total">¥1,600.00</dd>' in html  # the reported one is not due
    assert 'data-testid="later-total">1 名学员正在审核中，审核通过后应缴 ¥800.00。</p>' in html
    assert '<strong data-testid="pay-now">¥1,600.00</strong>' in html
    assert payment_settings.payee_name in html and payment_settings.account_number in html
    assert "云闪付" in html and "对公转账" in html
    for trainee in three_trainees:
        assert trainee.name in html
    # The memo names those with something due, not the one whose payment awaits confirmation.
    names = " ".join(t.name for t in three_trainees[1:])
    assert (
        f'<p class="small text-break border rounded p-2 bg-body-tertiary" data-testid="memo">{names}</p>'
        in html
    )
    assert "<script>" not in html.replace("<script src=", "")


def test_query_count_does_not_grow_with_trainees(
    client, application, payment_settings, django_assert_max_num_queries
):
    for _ in range(30):
        ApprovedTraineeFactory(application=application)
    with django_assert_max_num_queries(12):
        assert client.get(pay_url(application)).status_code == 200


def test_report_a_transfer_for_three_trainees(client, three_trainees):
    application = three_trainees[0].application
    response = client.post(pay_url(application), form_data(three_trainees))
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert payment.amount_fen == 240_000 and payment.expected_fen == 240_000
    assert set(payment.trainees.all()) == set(three_trainees)
    assert payment.status == PaymentStatus.REPORTED
    assert payment.invoice.buyer_tax_id == "91350100M000100Y43"
    page = client.get(pay_url(application)).content.decode()
    assert page.count('<li class="text-warning-emphasis">待确认 ¥800.00</li>') == 3  # each trainee
    assert "<td>已报告，待确认</td>" in page  # the payment


def test_wrong_amount_is_flagged_to_the_payer(client, application):
    trainee = ApprovedTraineeFactory(application=application)
    response = client.post(
        pay_url(application),
        form_data([trainee], channel="wechat", amount="700.00", transaction_no="WX-1"),
        follow=True,
    )
    payment = Payment.objects.get()
    assert payment.is_mismatch
    assert "700.00" in response.content.decode() and "800.00" in response.content.decode()


def test_duplicate_transaction_number_message(client, application):
    first, second = (
        ApprovedTraineeFactory(application=application),
        ApprovedTraineeFactory(application=application),
    )
    client.post(pay_url(application), form_data([first], amount="800.00", transaction_no="DUP-1"))
    response = client.post(pay_url(application), form_data([second], amount="800.00", transaction_no="DUP-1"))
    assert response.status_code == 200
    assert "该交易号已经报告过" in response.content.decode()
    assert Payment.objects.count() == 1


def test_amount_with_three_decimals_refused(client, application):
    trainee = ApprovedTraineeFactory(application=application)
    response = client.post(pay_url(application), form_data([trainee], amount="800.001"))
    assert response.status_code == 200 and not Payment.objects.exists()


def test_unit_needs_tax_id(client, application):
    trainee = ApprovedTraineeFactory(application=application)
    response = client.post(pay_url(application), form_data([trainee], amount="800", invoice_tax_id=""))
    assert response.status_code == 200 and not Payment.objects.exists()
    assert "统一社会信用代码" in response.content.decode()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "blue").save(out, format="PNG")
    return out.getvalue()


def test_screenshot_stored_privately_and_served_to_finance_only(
    client, application, finance_user, reviewer_user
):
    trainee = ApprovedTraineeFactory(application=application)
    data = form_data([trainee], amount="800.00")
    data["screenshot"] = SimpleUploadedFile("pay.png", _png(), content_type="image/png")
    assert client.post(pay_url(application), data).status_code == 302
    payment = Payment.objects.get()
    stored = Path(payment.screenshot.path)  # in the private storage, outside the public media
    assert stored.is_file() and stored.is_relative_to(settings.PRIVATE_MEDIA_ROOT)
    assert not stored.is_relative_to(settings.MEDIA_ROOT)
    url = reverse("payments:payment_screenshot", args=[payment.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(reviewer_user)
    assert client.get(url).status_code == 403
    client.force_login(finance_user)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_fake_screenshot_refused(client, application):
    trainee = ApprovedTraineeFactory(application=application)
    data = form_data([trainee], amount="800.00")
    data["screenshot"] = SimpleUploadedFile("pay.png", b"GIF89a not really", content_type="image/png")
    response = client.post(pay_url(application), data)
    assert response.status_code == 200 and not Payment.objects.exists()
    assert "JPEG" in response.content.decode()


def test_qr_image_served(client, payment_settings):
    assert client.get(reverse("payments:qr_image")).status_code == 404
    payment_settings.qr_image.save("qr.png", SimpleUploadedFile("qr.png", _png()))
    response = client.get(reverse("payments:qr_image"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


def test_query_count_does_not_grow_with_reported_payments(
    client, application, payment_settings, django_assert_max_num_queries
):
    for n in range(6):
        trainees = [ApprovedTraineeFactory(application=application) for _ in range(2)]
        PaymentFactory(
            application=application, trainees=trainees, transaction_no=f"Q-{n}", amount_fen=160_000
        )
    with django_assert_max_num_queries(12):
        assert client.get(pay_url(application)).status_code == 200


# --- The money follows reality; the QR code only when something is due -----------------------


def _page(client, application) -> str:
    return client.get(pay_url(application)).content.decode()


def test_before_review_nothing_is_due_and_no_qr_code(client, application, payment_settings):
    payment_settings.qr_image.save("qr.png", SimpleUploadedFile("qr.png", _png()))
    TraineeFactory(application=application)
    html = _page(client, application)
    assert 'data-testid="outstanding-total">¥0.00</dd>' in html and "text-danger" not in html
    assert 'data-testid="later-total">1 名学员正在审核中，审核通过后应缴 ¥800.00。</p>' in html
    assert reverse("payments:qr_image") not in html and 'id="how-heading"' not in html
    assert "本报名尚无审核通过的学员，审核通过后即可缴费。" in html
    assert 'id="report-heading"' not in html


def test_qr_code_with_the_hint_when_something_is_due(client, application, payment_settings):
    payment_settings.qr_image.save("qr.png", SimpleUploadedFile("qr.png", _png()))
    ApprovedTraineeFactory(application=application)
    html = _page(client, application)
    assert f'src="{reverse("payments:qr_image")}"' in html
    assert "长按收款码保存图片，再打开云闪付、支付宝或微信的“扫一扫”，从相册中选择这张图片。" in html


def test_reported_payment_is_awaiting_confirmation_not_still_due(client, three_trainees, payment_settings):
    application = three_trainees[0].application
    assert client.post(pay_url(application), form_data(three_trainees)).status_code == 302
    html = _page(client, application)
    assert 'data-testid="pending-total">¥2,400.00</dd>' in html
    assert '<dd class="mb-0 fs-5" data-testid="outstanding-total">¥0.00</dd>' in html  # not red
    assert "目前无需再缴费：已报告的付款正等待财务确认。" in html
    assert 'id="how-heading"' not in html
    assert html.count('<li class="text-warning-emphasis">待确认 ¥800.00</li>') == 3
    # Another report stays possible, folded away.
    assert 'aria-expanded="false" aria-controls="report-another">报告另一笔付款</button></h2>' in html
    assert '<div class="collapse" id="report-another">' in html


def test_after_return_and_confirmation(client, three_trainees, finance_user):
    from payments.services.payments import payment_confirm
    from registration.services.review import trainee_return

    application = three_trainees[0].application
    first, second, _ = three_trainees
    third = TraineeFactory(application=application)  # awaiting review, then returned
    trainee_return(trainee=third, reviewer=StaffFactory(role=REVIEWER), reason="照片不清晰")
    html = _page(client, application)
    assert 'data-testid="outstanding-total">¥2,400.00</dd>' in html  # the returned one is not due now
    assert "审核通过后缴纳 ¥800.00" in html
    payment = PaymentFactory(application=application, trainees=[first])
    payment_confirm(payment=payment, actor=finance_user)
    html = _page(client, application)
    assert '<dd class="mb-0 fs-5 text-success" data-testid="paid-total">¥800.00</dd>' in html
    assert 'data-testid="outstanding-total">¥1,600.00</dd>' in html
    assert '<li class="text-success">已缴 ¥800.00</li>' in html
    assert "审核通过后缴纳 ¥800.00" in html  # the returned one


def test_everything_paid(client, application):
    PaidTraineeFactory(application=application)
    html = _page(client, application)
    assert "应缴费用已全部缴清，谢谢。" in html and 'id="report-heading"' not in html


# --- The report form: prefilled, mistakes summarised at the top --------------------------------


def test_form_is_prefilled_with_what_is_due_now_and_the_unit(client, three_trainees):
    application = three_trainees[0].application
    PaymentFactory(application=application, trainees=three_trainees[:1])
    with time_machine.travel(dt.datetime(2026, 11, 20, 2, 30, 45, tzinfo=dt.UTC), tick=False):
        form = client.get(pay_url(application)).context["form"]
        html = str(form)
    assert form["amount"].value() == Decimal("1600.00")
    assert form["payer_name"].value() == application.unit_name
    assert form["trainees"].value() == [t.pk for t in three_trainees[1:]]
    assert 'value="2026-11-20T10:30"' in html  # now, in Beijing time, in the input's format
    assert 'value="1600.00"' in html


def test_an_individual_pays_in_their_own_name(client):
    trainee = ApprovedTraineeFactory(application__kind="individual", application__unit_name="张三")
    trainee.application.unit_name = "个人"
    trainee.application.save()
    form = client.get(pay_url(trainee.application)).context["form"]
    assert form["payer_name"].value() == trainee.name


def test_a_mistake_is_summarised_at_the_top_and_links_to_its_field(client, three_trainees):
    application = three_trainees[0].application
    future = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(pay_url(application), form_data(three_trainees, paid_at=future))
    assert response.status_code == 200 and not Payment.objects.exists()
    html = response.content.decode()
    summary = '<li><a class="alert-link" href="#div_id_paid_at">付款时间：付款时间不能晚于当前时间。</a></li>'
    assert summary in html
    assert '<div class="alert alert-danger" role="alert" id="error-summary" tabindex="-1">' in html
    assert html.index('id="error-summary"') < html.index('id="due-heading"')  # at the top
    assert 'id="div_id_paid_at"' in html  # the anchor exists
    assert '<script src="/static/payments/report.js" defer></script>' in html  # moves focus there
    # What was typed is kept.
    assert 'value="BANK-0001"' in html and f'value="{future}"' in html


def test_service_refusals_reach_the_summary_too(client, application):
    first = ApprovedTraineeFactory(application=application)
    PaymentFactory(application=application, trainees=[first], transaction_no="DUP-9")
    second = ApprovedTraineeFactory(application=application)
    response = client.post(pay_url(application), form_data([second], amount="800", transaction_no="DUP-9"))
    assert (
        '<a class="alert-link" href="#div_id_transaction_no">交易单号：该交易号已经报告过'
        in response.content.decode()
    )


def test_summary_in_english(client, three_trainees):
    application = three_trainees[0].application
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.post(pay_url(application), form_data(three_trainees, amount="")).content.decode()
    assert "Please correct 1 problem:" in html
    assert (
        '<a class="alert-link" href="#div_id_amount">Amount paid (yuan): This field is required.</a>' in html
    )
    html = _page(client, application)
    assert ">Still due</dt>" in html and ">Awaiting confirmation</dt>" in html


def test_page_queries_are_constant_in_the_number_of_trainees(client, payment_settings, finance_user):
    from payments.services.payments import payment_confirm

    counts = []
    for size in (2, 20):
        application = ApplicationFactory()
        trainees = [ApprovedTraineeFactory(application=application) for _ in range(size)]
        TraineeFactory(application=application)
        PaymentFactory(application=application, trainees=trainees[:1], transaction_no=f"P-{size}")
        payment_confirm(
            payment=PaymentFactory(
                application=application, trainees=trainees[1:2], transaction_no=f"C-{size}"
            ),
            actor=finance_user,
        )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(pay_url(application)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
