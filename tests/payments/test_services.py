import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from payments import selectors
from payments.models import Invoice, InvoiceStatus, Payment, PaymentStatus
from payments.services.invoices import invoice_issue
from payments.services.notices import invoice_email_notify
from payments.services.payments import (
    SCREENSHOT_MAX_BYTES,
    payment_confirm,
    payment_refund,
    payment_reject,
    payment_report,
    screenshot_clean,
)
from portal.models import AuditEntry, OutboundMessage
from registration.models import TraineeStatus
from tests.factories import ApplicationFactory, ApprovedTraineeFactory

pytestmark = pytest.mark.django_db


def report(application, trainees, *, amount_fen=None, number="TX-1", channel="bank_transfer", **extra):
    return payment_report(
        application=application,
        channel=channel,
        payer_name=extra.pop("payer_name", application.unit_name),
        payer_mobile="13800138000",
        amount_fen=sum(t.fee_fen for t in trainees) if amount_fen is None else amount_fen,
        transaction_no=number,
        paid_at=timezone.now() - dt.timedelta(hours=1),
        trainees=trainees,
        invoice_buyer_name=application.invoice_title,
        invoice_tax_id=application.invoice_tax_id,
        invoice_email=application.invoice_email,
        **extra,
    )


def test_unit_transfer_for_three_trainees_confirmed_in_one_step(
    three_trainees, finance_user, paid_signals, django_capture_on_commit_callbacks
):
    application = three_trainees[0].application
    payment = report(application, three_trainees)
    assert payment.expected_fen == 240_000 and not payment.is_mismatch
    assert payment.invoice.status == InvoiceStatus.REQUESTED
    with django_capture_on_commit_callbacks(execute=True):
        payment_confirm(payment=payment, actor=finance_user, ip="10.0.0.1")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.decided_by == finance_user and payment.decided_at is not None
    for trainee in three_trainees:
        trainee.refresh_from_db()
        assert trainee.paid_at == payment.paid_at
    assert sorted(paid_signals) == sorted(t.pk for t in three_trainees)
    entry = AuditEntry.objects.get(action="payment.confirmed")
    assert entry.actor == finance_user and entry.ip_address == "10.0.0.1"
    assert payment.invoice.due_on is not None


def test_provisioning_signal_only_after_commit(
    three_trainees, finance_user, paid_signals, django_capture_on_commit_callbacks
):
    payment = report(three_trainees[0].application, three_trainees)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        payment_confirm(payment=payment, actor=finance_user)
        # Inside the transaction: trainees are marked paid but nothing was sent yet.
        assert paid_signals == []
    assert len(callbacks) >= 3
    assert sorted(paid_signals) == sorted(t.pk for t in three_trainees)


def test_nothing_sent_when_the_confirming_transaction_rolls_back(
    three_trainees, finance_user, paid_signals, django_capture_on_commit_callbacks
):
    from django.db import transaction

    payment = report(three_trainees[0].application, three_trainees)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        payment_confirm(payment=payment, actor=finance_user)
        raise RuntimeError("rolled back")
    assert paid_signals == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REPORTED
    assert all(t.paid_at is None for t in three_trainees)


def test_wrong_amount_is_a_mismatch_and_needs_an_explicit_reason(application, finance_user):
    trainee = ApprovedTraineeFactory(application=application)
    payment = report(application, [trainee], amount_fen=70_000, channel="wechat", payer_name=trainee.name)
    assert payment.is_mismatch and payment.difference_fen == -10_000
    with pytest.raises(ValidationError) as excinfo:
        payment_confirm(payment=payment, actor=finance_user)
    assert "700.00" in str(excinfo.value) and "800.00" in str(excinfo.value)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REPORTED
    # Confirmed with a reason: recorded, but an under-payment does not mark the trainee paid.
    payment_confirm(payment=payment, actor=finance_user, mismatch_reason="余款另行补交")
    payment.refresh_from_db()
    trainee.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and payment.decision_reason == "余款另行补交"
    assert trainee.paid_at is None
    assert selectors.trainees_paid_fen([trainee.pk]) == {trainee.pk: 70_000}
    # The balance paid later completes the fee.
    top_up = report(application, [trainee], amount_fen=10_000, number="TX-2")
    payment_confirm(payment=top_up, actor=finance_user, mismatch_reason="补交余款")
    trainee.refresh_from_db()
    assert trainee.paid_at is not None


def test_over_payment_confirmed_with_reason_marks_paid(application, finance_user):
    trainee = ApprovedTraineeFactory(application=application)
    payment = report(application, [trainee], amount_fen=90_000)
    payment_confirm(payment=payment, actor=finance_user, mismatch_reason="多付 100 元，退回差额")
    trainee.refresh_from_db()
    assert trainee.paid_at is not None


def test_duplicate_transaction_number_refused(application):
    first, second = (
        ApprovedTraineeFactory(application=application),
        ApprovedTraineeFactory(application=application),
    )
    report(application, [first], number="4200001234")
    with pytest.raises(ValidationError) as excinfo:
        report(application, [second], number=" 4200001234 ")
    assert "transaction_no" in excinfo.value.message_dict
    assert "该交易号已经报告过" in excinfo.value.message_dict["transaction_no"][0]
    assert Payment.objects.count() == 1


def test_report_refuses_trainees_not_approved_or_of_another_application(application):
    waiting = ApprovedTraineeFactory(application=application, status=TraineeStatus.SUBMITTED)
    other = ApprovedTraineeFactory()
    for trainees in ([waiting], [other]):
        with pytest.raises(ValidationError):
            report(application, trainees, number=f"N{trainees[0].pk}")
    assert not Payment.objects.exists()


def test_confirmation_tells_the_contact_once_after_the_commit(
    application, finance_user, sms_outbox, mailoutbox, django_capture_on_commit_callbacks
):
    trainee = ApprovedTraineeFactory(application=application)
    payment = report(application, [trainee], amount_fen=80_000)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        payment_confirm(payment=payment, actor=finance_user, mismatch_reason="按实收确认")
    assert sms_outbox == [] and mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    text = f"报名{application.reference}的培训费800.00元已确认收到，学员的学习账号将在2日内开通。"
    sms = [(m.mobile, m.kind, m.message) for m in sms_outbox if m.kind.startswith("payment_")]
    assert sms == [("13700009999", "payment_confirmed", text)]
    assert [(m.to, m.subject, m.body) for m in mailoutbox if m.subject == "缴费已确认"] == [
        (["contact@example.org"], "缴费已确认", text)
    ]
    assert OutboundMessage.objects.filter(event__startswith=f"payment:{payment.pk}:confirmed").count() == 2


def test_rejection_tells_the_contact_why_with_the_payment_page(
    finance_user, settings, sms_outbox, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PORTAL_SITE_URL = "https://training.example.org"
    application = ApplicationFactory(kind="individual", contact_email="typed@example.org")
    trainee = ApprovedTraineeFactory(application=application)
    payment = report(application, [trainee])
    with django_capture_on_commit_callbacks(execute=True):
        payment_reject(payment=payment, actor=finance_user, reason="未收到款项")
    amount = f"{trainee.fee_fen // 100:,}.{trainee.fee_fen % 100:02d}"
    assert [(m.mobile, m.kind, m.message) for m in sms_outbox] == [
        (
            application.contact_phone,
            "payment_rejected",
            f"报名{application.reference}的缴费{amount}元未能确认，原因：未收到款项。"
            f"详情：https://training.example.org/payments/a/{application.access_key}/",
        )
    ]
    assert mailoutbox == []  # an individual's typed address never gets the private page


def test_reject_needs_reason_and_cancels_invoice(application, finance_user):
    trainee = ApprovedTraineeFactory(application=application)
    payment = report(application, [trainee])
    with pytest.raises(ValidationError):
        payment_reject(payment=payment, actor=finance_user, reason=" ")
    payment_reject(payment=payment, actor=finance_user, reason="未收到款项")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REJECTED
    assert payment.invoice.status == InvoiceStatus.CANCELLED
    with pytest.raises(ValidationError):
        payment_confirm(payment=payment, actor=finance_user)


def test_refund_before_account_opened(application, finance_user):
    trainee = ApprovedTraineeFactory(application=application)
    payment = report(application, [trainee])
    payment_confirm(payment=payment, actor=finance_user)
    payment_refund(payment=payment, actor=finance_user, reason="单位取消报名")
    payment.refresh_from_db()
    trainee.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_by == finance_user
    assert trainee.paid_at is None
    assert payment.invoice.status == InvoiceStatus.CANCELLED
    assert AuditEntry.objects.filter(action="payment.refunded", reason="单位取消报名").exists()


def test_refund_refused_after_account_opened(application, finance_user):
    """Learning opened the study account of one of the payment's trainees (its own ``account_open``):
    the payment is no longer refunded, and the message names that trainee."""
    from learning.services.accounts import account_open

    trainee = ApprovedTraineeFactory(application=application, name="王五")
    other = ApprovedTraineeFactory(application=application, name="赵六")
    payment = report(application, [trainee, other])
    payment_confirm(payment=payment, actor=finance_user)
    assert not selectors.trainee_account_opened(trainee)
    account_open(trainee_id=trainee.pk)
    assert selectors.trainee_account_opened(trainee) and not selectors.trainee_account_opened(other)
    with pytest.raises(ValidationError) as excinfo:
        payment_refund(payment=payment, actor=finance_user, reason="不想学了")
    assert excinfo.value.messages == ["不予退款：王五 的学习账号已开通，账号开通后培训费不退。"]
    payment.refresh_from_db()
    trainee.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and trainee.paid_at is not None


def test_confirm_sets_invoice_deadline_five_working_days_across_national_day(application, finance_user):
    trainee = ApprovedTraineeFactory(application=application)
    with time_machine.travel(dt.datetime(2025, 9, 29, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))):
        payment = report(application, [trainee])
        payment_confirm(payment=payment, actor=finance_user)
    payment.invoice.refresh_from_db()
    assert payment.invoice.due_on == dt.date(2025, 10, 13)


def test_confirm_in_2027_does_not_crash(application, finance_user):
    trainee = ApprovedTraineeFactory(application=application)
    with time_machine.travel(dt.datetime(2027, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))):
        payment = report(application, [trainee])
        payment_confirm(payment=payment, actor=finance_user)
    payment.invoice.refresh_from_db()
    assert payment.invoice.due_on == dt.date(2027, 3, 12)


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, format=fmt)
    return out.getvalue()


def test_screenshot_checked_by_content():
    good = screenshot_clean(SimpleUploadedFile("a.jpg", _image("JPEG"), content_type="image/jpeg"))
    assert good.name.endswith(".jpg")
    png = screenshot_clean(SimpleUploadedFile("a.png", _image("PNG")))
    assert png.name.endswith(".png")
    with pytest.raises(ValidationError):
        screenshot_clean(SimpleUploadedFile("fake.png", b"<?php echo 1; ?>", content_type="image/png"))
    with pytest.raises(ValidationError):
        screenshot_clean(SimpleUploadedFile("a.gif", _image("GIF"), content_type="image/gif"))
    big = SimpleUploadedFile("big.png", b"0" * (SCREENSHOT_MAX_BYTES + 1))
    with pytest.raises(ValidationError):
        screenshot_clean(big)


def test_invoice_issue_emails_pdf_once(
    application, finance_user, mailoutbox, django_capture_on_commit_callbacks
):
    trainee = ApprovedTraineeFactory(application=application)
    payment = report(application, [trainee])
    payment_confirm(payment=payment, actor=finance_user)
    invoice = Invoice.objects.get(payment=payment)
    with pytest.raises(ValidationError):
        invoice_issue(
            invoice=invoice, number="00123", pdf=SimpleUploadedFile("x.pdf", b"not a pdf"), actor=finance_user
        )
    with django_capture_on_commit_callbacks(execute=True):
        invoice_issue(
            invoice=invoice,
            number="25442000000012345678",
            pdf=SimpleUploadedFile("x.pdf", b"%PDF-1.4 test"),
            actor=finance_user,
        )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED and invoice.emailed_at is not None
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [application.invoice_email]
    assert "25442000000012345678" in message.subject
    assert message.attachments[0][0] == "25442000000012345678.pdf"
    assert message.attachments[0][1].startswith(b"%PDF-")
    # Running the task again sends nothing more.
    assert invoice_email_notify(invoice_id=invoice.pk) is False
    assert len(mailoutbox) == 1


def test_invoice_cannot_be_issued_before_confirmation(application, finance_user):
    trainee = ApprovedTraineeFactory(application=application)
    payment = report(application, [trainee])
    with pytest.raises(ValidationError):
        invoice_issue(
            invoice=payment.invoice,
            number="1",
            pdf=SimpleUploadedFile("x.pdf", b"%PDF-1.4"),
            actor=finance_user,
        )


def test_payment_shares_split_confirmed_and_reported(finance_user, django_assert_num_queries):
    application = ApplicationFactory()
    paid = ApprovedTraineeFactory(application=application)
    pending = ApprovedTraineeFactory(application=application, training_category="refresher")
    both = ApprovedTraineeFactory(application=application)
    untouched = ApprovedTraineeFactory(application=application)
    payment_confirm(payment=report(application, [paid], number="A"), actor=finance_user)
    report(application, [pending], number="B")
    payment_confirm(
        payment=report(application, [both], amount_fen=50_000, number="C"),
        actor=finance_user,
        mismatch_reason="part payment",
    )
    report(application, [both], amount_fen=30_000, number="D")
    rejected = report(application, [untouched], number="E")
    payment_reject(payment=rejected, actor=finance_user, reason="not found")
    ids = [paid.pk, pending.pk, both.pk, untouched.pk]
    with django_assert_num_queries(1):
        shares = selectors.trainees_payment_shares(ids)
    assert shares == {
        paid.pk: (80_000, 0),
        pending.pk: (0, 30_000),
        both.pk: (50_000, 30_000),
        untouched.pk: (0, 0),
    }
    assert selectors.trainees_paid_fen(ids) == {
        paid.pk: 80_000,
        pending.pk: 0,
        both.pk: 50_000,
        untouched.pk: 0,
    }
    assert selectors.trainees_payment_shares([]) == {}


def test_payments_register_their_shares_with_registration():
    from registration.selectors import PAYMENT_SHARE_PROVIDERS

    assert PAYMENT_SHARE_PROVIDERS["payments"] is selectors.trainees_payment_shares


def test_allocate_splits_in_order_and_keeps_excess():
    assert selectors.allocate(100_000, [(2, 80_000), (1, 30_000)]) == {1: 30_000, 2: 70_000}
    assert selectors.allocate(200_000, [(1, 80_000)]) == {1: 80_000}


@pytest.mark.services("postgres")
@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_confirm_once(finance_user):
    import threading

    from django.db import connection

    application = ApplicationFactory()
    trainees = [ApprovedTraineeFactory(application=application) for _ in range(2)]
    payment = report(application, trainees, number="RACE-1")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def confirm():
        try:
            barrier.wait()
            payment_confirm(payment=payment, actor=finance_user)
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert AuditEntry.objects.filter(action="payment.confirmed").count() == 1
    assert AuditEntry.objects.filter(action="trainee.paid").count() == 2
