import datetime as dt
import logging
import smtplib

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from payments import tasks
from payments.models import Invoice
from payments.services.invoices import invoice_issue
from payments.services.payments import payment_confirm
from portal.models import MessageStatus, OutboundMessage
from portal.roles import FINANCE
from tests.factories import ApprovedTraineeFactory, PaymentFactory, StaffFactory

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def confirmed_invoice(finance_user, number="T1", payer_mobile=""):
    trainee = ApprovedTraineeFactory()
    payment = PaymentFactory(
        application=trainee.application, trainees=[trainee], transaction_no=number, payer_mobile=payer_mobile
    )
    invoice = Invoice.objects.create(payment=payment, buyer_name="示例公司", email="buyer@example.com")
    payment_confirm(payment=payment, actor=finance_user)
    invoice.refresh_from_db()
    return invoice


def test_invoice_email_task_is_idempotent(
    finance_user, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    invoice = confirmed_invoice(finance_user, payer_mobile="13900001111")
    # Not issued yet: nothing to send.
    assert tasks.invoice_email(invoice_id=invoice.pk) is False
    invoice_issue(
        invoice=invoice, number="INV-1", pdf=SimpleUploadedFile("a.pdf", b"%PDF-1.4"), actor=finance_user
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.invoice_email.delay(invoice_id=invoice.pk).get() is True
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.invoice_email(invoice_id=invoice.pk) is False
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["buyer@example.com"]
    # The payer is told by SMS (message kind invoice_issued), once.
    assert [(m.mobile, m.kind, m.message) for m in sms_outbox] == [
        ("13900001111", "invoice_issued", "培训费电子发票INV-1已开具，已发送至您填写的电子邮箱。")
    ]
    assert OutboundMessage.objects.get(kind="invoice_issued").status == MessageStatus.SENT
    assert tasks.invoice_email(invoice_id=999_999) is False


def test_invoice_email_without_payer_mobile_sends_no_sms(
    finance_user, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    invoice = confirmed_invoice(finance_user, "T2")
    invoice_issue(
        invoice=invoice, number="INV-2", pdf=SimpleUploadedFile("a.pdf", b"%PDF-1.4"), actor=finance_user
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.invoice_email(invoice_id=invoice.pk) is True
    assert len(mailoutbox) == 1 and sms_outbox == []


@time_machine.travel(dt.datetime(2025, 11, 13, 8, 30, tzinfo=SHANGHAI), tick=False)  # a Thursday
def test_deadline_digest_to_finance_once_a_day(finance_user, mailoutbox, django_capture_on_commit_callbacks):
    StaffFactory(role=FINANCE, email="finance@example.com")
    StaffFactory(role=FINANCE, email="finance2@example.com")
    late = confirmed_invoice(finance_user, "D1")
    relaxed = confirmed_invoice(finance_user, "D2")
    Invoice.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=2))
    Invoice.objects.filter(pk=relaxed.pk).update(due_on=timezone.localdate() + dt.timedelta(days=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.invoice_deadlines_digest() == 1
    # One recorded e-mail per finance member with an address (each sees only their own address).
    assert sorted(message.to for message in mailoutbox) == [["finance2@example.com"], ["finance@example.com"]]
    assert {message.subject for message in mailoutbox} == {"待开发票：已逾期 1 张，即将到期 0 张"}
    assert (
        OutboundMessage.objects.filter(kind="invoice_deadlines_digest", status=MessageStatus.SENT).count()
        == 2
    )
    # The digest of the day is claimed once: running the task again sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.invoice_deadlines_digest() == 1
    assert len(mailoutbox) == 2


def test_invoice_email_refused_by_the_mail_server_is_logged_not_raised(finance_user, monkeypatch, caplog):
    invoice = confirmed_invoice(finance_user)
    invoice_issue(
        invoice=invoice, number="INV-9", pdf=SimpleUploadedFile("a.pdf", b"%PDF-1.4"), actor=finance_user
    )

    def refuse(**kwargs):
        raise smtplib.SMTPRecipientsRefused({"buyer@example.com": (550, b"no such user")})

    monkeypatch.setattr("payments.services.notices.email_send", refuse)
    with caplog.at_level(logging.WARNING, logger="payments"):
        assert tasks.invoice_email(invoice_id=invoice.pk) is False
    invoice.refresh_from_db()
    assert invoice.emailed_at is None
    assert [record.getMessage() for record in caplog.records if record.name == "payments"] == [
        f"Invoice {invoice.pk}: the e-mail was not sent (SMTPRecipientsRefused)."
    ]


def test_deadline_digest_quiet_when_nothing_urgent(finance_user, mailoutbox):
    invoice = confirmed_invoice(finance_user)
    Invoice.objects.filter(pk=invoice.pk).update(due_on=timezone.localdate() + dt.timedelta(days=20))
    assert tasks.invoice_deadlines_digest() == 0
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("day", "sent"),
    [
        ("2025-11-15", False),  # a Saturday
        ("2025-10-03", False),  # National Day holiday, a Friday
        ("2025-09-28", True),  # a Sunday worked (adjusted working day)
        ("2025-11-17", True),  # a Monday
    ],
)
def test_deadline_digest_only_on_working_days_of_the_calendar(finance_user, mailoutbox, day, sent):
    StaffFactory(role=FINANCE, email="finance@example.com")
    with time_machine.travel(dt.datetime.fromisoformat(day).replace(hour=8, tzinfo=SHANGHAI), tick=False):
        late = confirmed_invoice(finance_user, "W1")
        Invoice.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=2))
        assert tasks.invoice_deadlines_digest() == (1 if sent else 0)


def test_beat_schedule_lists_the_digest():
    from portal.celery import BEAT_SCHEDULE

    (entry,) = [e for e in BEAT_SCHEDULE.values() if e["task"] == "payments.tasks.invoice_deadlines_digest"]
    # Daily: the task skips days off by the working-day calendar, not by crontab weekdays.
    assert entry["schedule"].day_of_week == set(range(7))
