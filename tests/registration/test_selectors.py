import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from registration.models import Trainee, TraineeStatus
from registration.selectors import application_fee_summary, application_money, programme_current, yuan
from tests.factories import ApplicationFactory, ProgrammeFactory, StaffFactory, TraineeFactory

pytestmark = pytest.mark.django_db


def test_yuan_formats_fen_without_float():
    assert yuan(80_000) == "800.00"
    assert yuan(110_005) == "1,100.05"
    assert yuan(-30_000) == "-300.00"
    assert yuan(None) == ""


def test_programme_current_is_the_open_one_latest_first():
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    ProgrammeFactory(opens_on=today - 90 * day, closes_on=today - day)  # closed
    older = ProgrammeFactory(opens_on=today - 30 * day, closes_on=today + 30 * day)
    newer = ProgrammeFactory(opens_on=today - 2 * day, closes_on=today)
    upcoming = ProgrammeFactory(opens_on=today + day, closes_on=today + 9 * day)  # not yet open
    assert programme_current() == newer
    assert programme_current(day=today + 5 * day) == upcoming
    assert programme_current(day=today + 20 * day) == older
    assert programme_current(day=today + 100 * day) is None


def test_fee_summary_counts_live_trainees_only(django_assert_num_queries):
    application = ApplicationFactory(programme__fee_initial_fen=80_000, programme__fee_refresher_fen=30_000)
    TraineeFactory.create_batch(2, application=application, training_category="initial")
    TraineeFactory(application=application, training_category="refresher", status=TraineeStatus.APPROVED)
    TraineeFactory(application=application, training_category="initial", status=TraineeStatus.WITHDRAWN)
    TraineeFactory(application=application, training_category="refresher", status=TraineeStatus.REJECTED)
    with django_assert_num_queries(1):
        summary = application_fee_summary(application)
    assert summary.total_fen == 2 * 80_000 + 30_000
    assert summary.total_yuan == "1,900.00"
    assert (summary.count, summary.count_initial, summary.count_refresher) == (3, 2, 1)
    assert [line.fee_fen for line in summary.lines] == [80_000, 80_000, 30_000, 80_000, 30_000]


def test_fee_summary_uses_the_programme_fees():
    application = ApplicationFactory(programme__fee_initial_fen=99_900, programme__fee_refresher_fen=12_345)
    TraineeFactory(application=application, training_category="refresher")
    assert application_fee_summary(application).total_fen == 12_345


# --- application_money: 已缴 / 待确认 / 尚需 per trainee --------------------------------------


def _report(application, trainees, *, amount_fen=None, number):
    """A payment reported through the payments app's own service (as the payment page does)."""
    from payments.services.payments import payment_report

    return payment_report(
        application=application,
        channel="bank_transfer",
        payer_name=application.unit_name,
        payer_mobile="13800138000",
        amount_fen=sum(t.fee_fen for t in trainees) if amount_fen is None else amount_fen,
        transaction_no=number,
        paid_at=timezone.now() - datetime.timedelta(hours=1),
        trainees=trainees,
        invoice_buyer_name=application.invoice_title,
        invoice_tax_id=application.invoice_tax_id,
        invoice_email=application.invoice_email,
    )


def _rows(application):
    money = application_money(application=application)
    return money, {row.trainee.pk: row for row in money.rows}


def test_money_follows_review_report_and_confirmation():
    from payments.services.payments import payment_confirm
    from portal.roles import FINANCE, REVIEWER
    from registration.services.review import trainee_return

    application = ApplicationFactory(programme__fee_initial_fen=80_000, programme__fee_refresher_fen=30_000)
    first, second = TraineeFactory.create_batch(2, application=application)
    third = TraineeFactory(application=application, training_category="refresher")
    TraineeFactory(application=application, status=TraineeStatus.WITHDRAWN)

    # Before review: nothing is due now, everything after approval.
    money, rows = _rows(application)
    assert (money.paid_fen, money.pending_fen, money.due_fen, money.later_fen) == (0, 0, 0, 190_000)
    assert rows[first.pk].state == "review" and len(money.under_review) == 3

    # Two approved, one returned: only the approved ones are due.
    Trainee.objects.filter(pk__in=[first.pk, second.pk]).update(status=TraineeStatus.APPROVED)
    trainee_return(trainee=third, reviewer=StaffFactory(role=REVIEWER), reason="照片不清晰")
    money, rows = _rows(application)
    assert (money.paid_fen, money.pending_fen, money.due_fen, money.later_fen) == (0, 0, 160_000, 30_000)
    assert money.fee_fen == 160_000 and money.due_amount == Decimal("1600.00")
    assert [row.trainee for row in money.due_rows] == [first, second]

    # A reported payment leaves 尚需 at once: it awaits confirmation.
    first.refresh_from_db()
    payment = _report(application, [first], number="R-1")
    money, rows = _rows(application)
    assert (money.paid_fen, money.pending_fen, money.due_fen) == (0, 80_000, 80_000)
    assert rows[first.pk].state == "pending" and rows[first.pk].due_fen == 0

    # Confirmed: paid.
    payment_confirm(payment=payment, actor=StaffFactory(role=FINANCE))
    money, rows = _rows(application)
    assert (money.paid_fen, money.pending_fen, money.due_fen) == (80_000, 0, 80_000)
    assert rows[first.pk].state == "paid" and rows[first.pk].paid_yuan == "800.00"
    assert money.paid_yuan == "800.00" and money.due_yuan == "800.00" and money.later_yuan == "300.00"


def test_a_partial_report_leaves_the_rest_due():
    application = ApplicationFactory(programme__fee_initial_fen=80_000)
    trainee = TraineeFactory(application=application, status=TraineeStatus.APPROVED)
    _report(application, [trainee], amount_fen=50_000, number="P-1")
    money, rows = _rows(application)
    assert (rows[trainee.pk].pending_fen, rows[trainee.pk].due_fen, rows[trainee.pk].state) == (
        50_000,
        30_000,
        "due",
    )


def test_withdrawn_and_rejected_owe_nothing():
    application = ApplicationFactory()
    for status in (TraineeStatus.WITHDRAWN, TraineeStatus.REJECTED):
        TraineeFactory(application=application, status=status)
    money, rows = _rows(application)
    assert all(row.state == "none" and not row.live for row in money.rows)
    assert (money.paid_fen, money.pending_fen, money.due_fen, money.later_fen) == (0, 0, 0, 0)


def test_money_queries_do_not_grow_with_trainees_or_payments(django_assert_num_queries):
    application = ApplicationFactory()
    trainees = [TraineeFactory(application=application, status=TraineeStatus.APPROVED) for _ in range(12)]
    for n in range(4):
        _report(application, trainees[3 * n : 3 * n + 2], number=f"Q-{n}")
    loaded = list(application.trainees.all())
    with django_assert_num_queries(1):  # the payments app's shares, one query
        money = application_money(application=application, trainees=loaded)
    assert money.pending_fen == 8 * 80_000 and money.due_fen == 4 * 80_000


def test_without_a_payments_provider_nothing_is_paid_or_reported(monkeypatch):
    from registration import selectors

    application = ApplicationFactory()
    trainee = TraineeFactory(application=application, status=TraineeStatus.APPROVED)
    _report(application, [trainee], number="N-1")
    monkeypatch.setattr(selectors, "PAYMENT_SHARE_PROVIDERS", {})
    money, rows = _rows(application)
    assert (rows[trainee.pk].pending_fen, rows[trainee.pk].due_fen) == (0, 80_000)
