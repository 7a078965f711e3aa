"""Read-side queries of payments: what an application owes, coverage of fees, invoice queue, statement
lines, reports."""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from portal.workdays import working_days_add
from registration.models import Application, Programme, Trainee, TraineeStatus

from .models import (
    Invoice,
    InvoiceStatus,
    LineStatus,
    Payment,
    PaymentSettings,
    PaymentStatus,
    Statement,
    StatementLine,
)

# ---------------------------------------------------------------------------------------------
# Settings and the downstream fact "study account opened"


def payment_settings_get() -> PaymentSettings | None:
    return PaymentSettings.objects.order_by("pk").first()


def trainee_account_opened(trainee: Trainee) -> bool:
    """Whether the trainee's study account is open (then fees are no longer refunded).

    The learning app owns study accounts and creates ``learning.Enrollment`` with
    ``trainee = OneToOneField(Trainee, related_name="enrollment")`` when it opens one. Payments must
    not import learning, so the reverse relation is looked up by name through ``Trainee._meta``:
    without the learning app (or before it has that model) no account can be open.
    """
    try:
        relation = Trainee._meta.get_field("enrollment")
    except FieldDoesNotExist:
        return False
    model = relation.related_model
    return model._default_manager.filter(**{relation.field.name: trainee.pk}).exists()


# ---------------------------------------------------------------------------------------------
# Fee coverage


def allocate(amount_fen: int, fees: list[tuple[int, int]]) -> dict[int, int]:
    """Split a payment over the trainees it covers: in trainee order, each up to its fee.

    Any excess (an over-payment) is not allocated to anybody.
    """
    left = amount_fen
    shares: dict[int, int] = {}
    for trainee_id, fee in sorted(fees):
        share = min(fee, max(left, 0))
        shares[trainee_id] = share
        left -= share
    return shares


def trainees_payment_shares(trainee_ids) -> dict[int, tuple[int, int]]:
    """``{trainee_id: (confirmed_fen, reported_fen)}``: how much of each trainee's fee confirmed
    payments cover, and how much payments reported but not confirmed yet would cover. Each payment
    is split over all the trainees it covers by :func:`allocate`. One query, whatever the count.

    Registered as ``registration.selectors.PAYMENT_SHARE_PROVIDERS["payments"]`` (payments.apps):
    the application page reads the money through it.
    """
    trainee_ids = list(trainee_ids)
    shares = dict.fromkeys(trainee_ids, (0, 0))
    if not trainee_ids:
        return shares
    through = Payment.trainees.through
    counted = [PaymentStatus.CONFIRMED, PaymentStatus.REPORTED]
    covering = through.objects.filter(trainee_id__in=trainee_ids, payment__status__in=counted).values(
        "payment_id"
    )
    rows = through.objects.filter(payment_id__in=covering).values_list(
        "payment_id",
        "payment__status",
        "payment__amount_fen",
        "trainee_id",
        "trainee__training_category",
        "trainee__programme__fee_initial_fen",
        "trainee__programme__fee_refresher_fen",
    )
    payments: dict[int, tuple[str, int]] = {}
    per_payment: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for payment_id, status, amount_fen, trainee_id, category, fee_initial, fee_refresher in rows:
        payments[payment_id] = (status, amount_fen)
        fee = fee_initial if category == "initial" else fee_refresher
        per_payment[payment_id].append((trainee_id, fee))
    for payment_id, fees in per_payment.items():
        status, amount_fen = payments[payment_id]
        for trainee_id, share in allocate(amount_fen, fees).items():
            if trainee_id in shares:
                confirmed, reported = shares[trainee_id]
                if status == PaymentStatus.CONFIRMED:
                    shares[trainee_id] = (confirmed + share, reported)
                else:
                    shares[trainee_id] = (confirmed, reported + share)
    return shares


def trainees_paid_fen(trainee_ids) -> dict[int, int]:
    """How much of each trainee's fee confirmed payments cover (one query, whatever the count)."""
    return {
        trainee_id: confirmed
        for trainee_id, (confirmed, _reported) in trainees_payment_shares(trainee_ids).items()
    }


def trainees_payable(*, application: Application) -> QuerySet[Trainee]:
    """Approved trainees of the application whose fee is not paid yet."""
    return (
        application.trainees.filter(status=TraineeStatus.APPROVED, paid_at__isnull=True)
        .select_related("programme")
        .order_by("row_number", "pk")
    )


def application_payments(*, application: Application) -> list[Payment]:
    """The payments of the application, the latest report first (for its payment page)."""
    return list(application.payments.order_by("-reported_at", "-pk"))


# ---------------------------------------------------------------------------------------------
# Invoices


DUE_SOON_WORKING_DAYS = 1


def invoices_to_issue() -> QuerySet[Invoice]:
    """The finance queue: invoices of confirmed payments not issued yet, most urgent first."""
    return (
        Invoice.objects.filter(status=InvoiceStatus.REQUESTED, payment__status=PaymentStatus.CONFIRMED)
        .select_related("payment", "payment__application")
        .order_by("due_on", "pk")
    )


def invoice_due_soon_limit(*, today: date | None = None) -> date:
    """Invoices due on or before this date (and not overdue) are "due soon"."""
    return working_days_add(start=today or timezone.localdate(), days=DUE_SOON_WORKING_DAYS)


def invoice_urgency(*, due_on: date | None, today: date | None = None, soon_limit: date | None = None) -> str:
    """``"overdue"``, ``"due_soon"`` (within one working day) or ``""``.

    Pass ``soon_limit`` (from :func:`invoice_due_soon_limit`) when classifying many invoices.
    """
    if due_on is None:
        return ""
    today = today or timezone.localdate()
    if due_on < today:
        return "overdue"
    if due_on <= (soon_limit or invoice_due_soon_limit(today=today)):
        return "due_soon"
    return ""


# ---------------------------------------------------------------------------------------------
# Bank statement lines


def trainees_outstanding() -> QuerySet[Trainee]:
    """Approved trainees whose fee is not paid yet (those a statement line can pay for)."""
    return Trainee.objects.filter(status=TraineeStatus.APPROVED, paid_at__isnull=True)


def statement_lines_grouped(*, statement: Statement) -> dict[str, list[StatementLine]]:
    """The statement's lines by status (every status, in row order), each line with its candidate
    trainees in ``line.candidates`` (one query for all of them)."""
    lines = list(statement.lines.order_by("row_number"))
    trainees = Trainee.objects.select_related("application", "programme").in_bulk(
        {pk for line in lines for pk in line.candidate_ids}
    )
    groups: dict[str, list[StatementLine]] = {status: [] for status in LineStatus.values}
    for line in lines:
        line.candidates = [trainees[t] for t in line.candidate_ids if t in trainees]
        groups[line.status].append(line)
    return groups


def statement_line_choices(*, line: StatementLine, search: str = "", limit: int = 200) -> list[Trainee]:
    """The outstanding trainees offered for a line: those matching ``search`` (name, mobile, unit or
    application number), or the line's candidates when there is no search."""
    queryset = trainees_outstanding().select_related("programme", "application")
    if search:
        queryset = queryset.filter(
            Q(name__icontains=search)
            | Q(mobile__icontains=search)
            | Q(application__reference__iexact=search)
            | Q(application__unit_name__icontains=search)
        )
    else:
        queryset = queryset.filter(pk__in=line.candidate_ids)
    return list(queryset.order_by("application_id", "row_number")[:limit])


# ---------------------------------------------------------------------------------------------
# Finance reports


def _day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(start, time.min), tz),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz),
    )


def report_daily(*, start: date, end: date) -> list[dict]:
    """Confirmed payments per day (of confirmation) and channel: count and total fen."""
    low, high = _day_bounds(start, end)
    rows = (
        Payment.objects.filter(status=PaymentStatus.CONFIRMED, decided_at__gte=low, decided_at__lt=high)
        .annotate(day=TruncDate("decided_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "channel")
        .annotate(count=Count("pk"), total_fen=Sum("amount_fen"))
        .order_by("day", "channel")
    )
    return list(rows)


def report_by_programme(*, start: date, end: date) -> list[dict]:
    """Confirmed payments per programme and channel over the period."""
    low, high = _day_bounds(start, end)
    rows = (
        Payment.objects.filter(status=PaymentStatus.CONFIRMED, decided_at__gte=low, decided_at__lt=high)
        .values("application__programme_id", "application__programme__name", "channel")
        .annotate(count=Count("pk"), total_fen=Sum("amount_fen"))
        .order_by("application__programme__name", "channel")
    )
    return list(rows)


def report_outstanding() -> list[dict]:
    """Per programme: approved trainees not paid yet and the fees they owe (fen)."""
    result = []
    programmes = Programme.objects.annotate(
        unpaid_initial=Count(
            "trainee",
            filter=Q(
                trainee__status=TraineeStatus.APPROVED,
                trainee__paid_at__isnull=True,
                trainee__training_category="initial",
            ),
        ),
        unpaid_refresher=Count(
            "trainee",
            filter=Q(
                trainee__status=TraineeStatus.APPROVED,
                trainee__paid_at__isnull=True,
                trainee__training_category="refresher",
            ),
        ),
    ).order_by("-year", "name")
    pending = dict(
        Payment.objects.filter(status=PaymentStatus.REPORTED)
        .values("application__programme_id")
        .annotate(total=Sum("amount_fen"))
        .values_list("application__programme_id", "total")
    )
    for programme in programmes:
        result.append(
            {
                "programme": programme,
                "unpaid_count": programme.unpaid_initial + programme.unpaid_refresher,
                "outstanding_fen": programme.unpaid_initial * programme.fee_initial_fen
                + programme.unpaid_refresher * programme.fee_refresher_fen,
                "pending_fen": pending.get(programme.pk, 0),
            }
        )
    return result
