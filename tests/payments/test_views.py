import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from payments.models import Payment, PaymentStatus
from registration.models import TraineeStatus
from tests.factories import ApprovedTraineeFactory, PaymentFactory

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
    assert "2,400.00" in html  # total due
    assert "800.00" in html  # pending report
    assert payment_settings.payee_name in html and payment_settings.account_number in html
    assert "云闪付" in html and "对公转账" in html
    for trainee in three_trainees:
        assert trainee.name in html
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
    assert page.count('<span class="badge text-bg-warning">等待确认</span>') == 3  # each trainee
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
    assert payment.screenshot.storage.base_url is None or "private" in str(
        payment.screenshot.storage.location
    )
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
