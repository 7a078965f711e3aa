"""Demo data of payments: the fictional collection account with a generated QR code and one
reported transfer.

Everything is fictional (the QR code encodes an example.org address). Safe to run again.
"""

import io
from datetime import timedelta

import qrcode
from django.core.files.base import ContentFile
from django.utils import timezone

from registration.models import Application, TraineeStatus

from .models import Invoice, Payment, PaymentSettings

QR_TEXT = "https://pay.example.org/collect/demo-safety-training"

QR_INSTRUCTIONS = (
    "使用云闪付、支付宝或微信扫描上方收款码。进入收款码后请填写：个人姓名、缴费金额、手机号码。\n"
    "付款后请在本页“报告付款”中填写交易单号，财务核对后确认。"
)
TRANSFER_INSTRUCTIONS = "对公转账时，请在银行摘要（用途）栏备注学员姓名。发票在缴费确认后 5 个工作日内开具。"


def _qr_png() -> ContentFile:
    image = qrcode.make(QR_TEXT, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="demo-qr.png")


def load(*, stdout) -> None:
    settings_row = PaymentSettings.objects.order_by("pk").first()
    if settings_row is None:
        settings_row = PaymentSettings(
            payee_name="示例课通安全技术咨询有限公司",
            bank_name="示例建设银行股份有限公司示例市福安支行",
            account_number="6200 0000 0000 0000 0001",
            qr_instructions=QR_INSTRUCTIONS,
            transfer_instructions=TRANSFER_INSTRUCTIONS,
        )
        settings_row.qr_image.save("demo-qr.png", _qr_png(), save=False)
        settings_row.save()
    elif not settings_row.qr_image:
        settings_row.qr_image.save("demo-qr.png", _qr_png(), save=True)

    # A reported (unconfirmed) transfer for the first demo application with approved trainees.
    application = (
        Application.objects.filter(trainees__status=TraineeStatus.APPROVED, trainees__paid_at__isnull=True)
        .order_by("pk")
        .first()
    )
    if application is not None and not application.payments.exists():
        trainees = list(application.trainees.filter(status=TraineeStatus.APPROVED, paid_at__isnull=True))
        expected = sum(t.fee_fen for t in trainees)
        payment = Payment.objects.create(
            application=application,
            channel="bank_transfer",
            payer_name=application.unit_name,
            payer_mobile="",
            amount_fen=expected,
            expected_fen=expected,
            transaction_no=f"DEMO-{application.reference}",
            paid_at=timezone.now() - timedelta(hours=2),
        )
        payment.trainees.set(trainees)
        Invoice.objects.create(
            payment=payment,
            buyer_name=application.invoice_title,
            buyer_tax_id=application.invoice_tax_id,
            email=application.invoice_email,
        )
        stdout.write(f"Demo payment reported for {application.reference} (confirm it in admin as finance).")
    stdout.write("Payment settings: fictional payee, bank account and QR code loaded.")
