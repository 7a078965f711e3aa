"""The invoice clock (issue #17 point 4): the 5 working days start at the payment's date, the bank
statement's transaction date or the day the payer reported it, not at finance's confirmation."""

import datetime as dt

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from payments.models import Invoice, PaymentSource
from payments.services.payments import payment_confirm
from payments.services.statements import statement_import, statement_line_resolve
from tests.factories import ApprovedTraineeFactory, PaymentFactory

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def reported_payment(day: str, *, number: str = "QR-1", channel: str = "wechat"):
    trainee = ApprovedTraineeFactory()
    with time_machine.travel(at(day), tick=False):
        payment = PaymentFactory(
            application=trainee.application,
            transaction_no=number,
            channel=channel,
            trainees=[trainee],
            paid_at=at(day, 9),
            reported_at=timezone.now(),
            amount_fen=trainee.fee_fen,
            expected_fen=trainee.fee_fen,
        )
    Invoice.objects.create(payment=payment, buyer_name="王五", email="w@example.com")
    return payment, trainee


@pytest.mark.django_db
def test_qr_payment_clock_starts_the_day_it_was_reported(finance_user):
    # Reported Thursday 2025-11-13, confirmed the next Tuesday: 14, 17, 18, 19, 20 November.
    payment, _trainee = reported_payment("2025-11-13")
    with time_machine.travel(at("2025-11-18"), tick=False):
        payment_confirm(payment=payment, actor=finance_user)
    invoice = Invoice.objects.get(payment=payment)
    assert invoice.due_on == dt.date(2025, 11, 20)
    assert invoice.deadline_provisional is False


@pytest.mark.django_db
def test_statement_line_clock_starts_at_the_transaction_date(finance_user):
    trainee = ApprovedTraineeFactory(name="王五", mobile="13712345678")
    content = (
        "交易日期,交易流水号,对方户名,摘要,借方金额,贷方金额\n"
        f"2025-11-13 10:00:00,B001,王五,手机13712345678,,{trainee.fee_fen / 100:.2f}\n"
    ).encode()
    with time_machine.travel(at("2025-11-19"), tick=False):
        statement, _created = statement_import(
            content=content, filename="bank.csv", source="bank", actor=finance_user
        )
        payment = statement_line_resolve(line=statement.lines.get(), trainees=[trainee], actor=finance_user)
    assert payment.source == PaymentSource.STATEMENT
    # Booked Thursday 13 November (imported and confirmed on the 19th): due on the 20th.
    assert Invoice.objects.get(payment=payment).due_on == dt.date(2025, 11, 20)


@pytest.mark.django_db
def test_reported_transfer_confirmed_by_its_statement_line_counts_from_the_bank_date(finance_user):
    # The payer reported on Monday 17 November a transfer the bank booked on Thursday the 13th.
    payment, _trainee = reported_payment("2025-11-17", number="420000999", channel="bank_transfer")
    content = (
        "交易日期,交易流水号,对方户名,摘要,借方金额,贷方金额\n"
        f"2025-11-13 10:00:00,420000999,王五,,,{payment.amount_fen / 100:.2f}\n"
    ).encode()
    with time_machine.travel(at("2025-11-19"), tick=False):
        statement, _created = statement_import(
            content=content, filename="bank.csv", source="bank", actor=finance_user
        )
        line = statement.lines.get()
        assert line.reported_payment_id == payment.pk
        statement_line_resolve(line=line, trainees=[], actor=finance_user)
    # From the report it would be 24 November; from the bank's date it is the 20th.
    assert Invoice.objects.get(payment=payment).due_on == dt.date(2025, 11, 20)


@pytest.mark.django_db
def test_deadline_over_a_year_without_official_data_is_provisional(finance_user):
    payment, _trainee = reported_payment("2026-12-29")
    with time_machine.travel(at("2026-12-30"), tick=False):
        payment_confirm(payment=payment, actor=finance_user)
    invoice = Invoice.objects.get(payment=payment)
    # 30, 31 December, then 2027 by Monday-Friday (no data yet): 1, 4, 5 January.
    assert invoice.due_on == dt.date(2027, 1, 5)
    assert invoice.deadline_provisional is True


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_data_migration_moves_existing_deadlines_to_the_payment_date(finance_user):
    qr, _trainee = reported_payment("2025-11-13", number="QR-9")
    with time_machine.travel(at("2025-11-18"), tick=False):
        payment_confirm(payment=qr, actor=finance_user)
    pending = reported_payment("2025-11-14", number="QR-10")[0]  # not confirmed: no deadline
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old_apps = _migrate([("payments", "0003_holiday_moved_to_portal")])
        OldInvoice = old_apps.get_model("payments", "Invoice")
        # As the old code left it: 5 working days after the confirmation (Tuesday 18th).
        OldInvoice.objects.filter(payment_id=qr.pk).update(due_on=dt.date(2025, 11, 25))
        new_apps = _migrate(latest)
        Invoice_ = new_apps.get_model("payments", "Invoice")
        assert Invoice_.objects.get(payment_id=qr.pk).due_on == dt.date(2025, 11, 20)
        assert Invoice_.objects.get(payment_id=pending.pk).due_on is None
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
