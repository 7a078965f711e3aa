import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from payments import services, tasks
from payments.models import Invoice
from portal.roles import FINANCE
from tests.portal.factories import StaffFactory

from .factories import PaymentFactory, TraineeFactory

pytestmark = pytest.mark.django_db


def confirmed_invoice(finance_user, number="T1"):
    trainee = TraineeFactory()
    payment = PaymentFactory(application=trainee.application, trainees=[trainee], transaction_no=number)
    invoice = Invoice.objects.create(payment=payment, buyer_name="示例公司", email="buyer@example.com")
    services.payment_confirm(payment=payment, actor=finance_user)
    invoice.refresh_from_db()
    return invoice


def test_invoice_email_task_is_idempotent(finance_user, mailoutbox):
    invoice = confirmed_invoice(finance_user)
    # Not issued yet: nothing to send.
    assert tasks.invoice_email(invoice_id=invoice.pk) is False
    services.invoice_issue(
        invoice=invoice, number="INV-1", pdf=SimpleUploadedFile("a.pdf", b"%PDF-1.4"), actor=finance_user
    )
    assert tasks.invoice_email.delay(invoice_id=invoice.pk).get() is True
    assert tasks.invoice_email(invoice_id=invoice.pk) is False
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["buyer@example.com"]
    assert tasks.invoice_email(invoice_id=999_999) is False


def test_deadline_digest_to_finance(finance_user, mailoutbox):
    StaffFactory(role=FINANCE, email="finance@example.com")
    late = confirmed_invoice(finance_user, "D1")
    relaxed = confirmed_invoice(finance_user, "D2")
    Invoice.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=2))
    Invoice.objects.filter(pk=relaxed.pk).update(due_on=timezone.localdate() + dt.timedelta(days=20))
    assert tasks.invoice_deadlines_digest() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["finance@example.com"]
    assert "已逾期 1 张" in mailoutbox[0].subject


def test_deadline_digest_quiet_when_nothing_urgent(finance_user, mailoutbox):
    invoice = confirmed_invoice(finance_user)
    Invoice.objects.filter(pk=invoice.pk).update(due_on=timezone.localdate() + dt.timedelta(days=20))
    assert tasks.invoice_deadlines_digest() == 0
    assert mailoutbox == []


def test_beat_schedule_lists_the_digest():
    from portal.celery import BEAT_SCHEDULE

    assert any(entry["task"] == "payments.tasks.invoice_deadlines_digest" for entry in BEAT_SCHEDULE.values())
