"""Read-side queries of registration: the open programme, fees due, what reviewers look at."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from .models import (
    LIVE_STATUSES,
    Application,
    Programme,
    ReturnReason,
    Trainee,
    TraineeStatus,
    TrainingCategory,
)


def yuan(fen: int | None) -> str:
    """Format fen as yuan with two decimals (integer arithmetic, no float): 80000 → ``800.00``."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def programme_current(*, day=None) -> Programme | None:
    """The programme whose registration is open on ``day`` (today), the latest first; or ``None``."""
    day = day or timezone.localdate()
    return (
        Programme.objects.filter(opens_on__lte=day, closes_on__gte=day).order_by("-opens_on", "-pk").first()
    )


def application_by_access_key(access_key: str) -> Application | None:
    return Application.objects.select_related("programme").filter(access_key=access_key).first()


def trainee_by_access_key(access_key: str) -> Trainee | None:
    return Trainee.objects.select_related("programme", "application").filter(access_key=access_key).first()


@dataclass
class FeeLine:
    trainee: Trainee
    fee_fen: int
    live: bool


@dataclass
class FeeSummary:
    """Fees of an application: one line per trainee; withdrawn and rejected trainees owe nothing."""

    lines: list[FeeLine] = field(default_factory=list)
    fee_initial_fen: int = 0
    fee_refresher_fen: int = 0
    count_initial: int = 0
    count_refresher: int = 0

    @property
    def total_fen(self) -> int:
        return sum(line.fee_fen for line in self.lines if line.live)

    @property
    def count(self) -> int:
        return sum(1 for line in self.lines if line.live)

    @property
    def total_yuan(self) -> str:
        return yuan(self.total_fen)


def application_fee_summary(application: Application, trainees=None) -> FeeSummary:
    """Fee per trainee (from the programme) and the total due, in fen. One query (or none if
    ``trainees`` is given)."""
    programme = application.programme
    if trainees is None:
        trainees = list(application.trainees.all())
    summary = FeeSummary(
        fee_initial_fen=programme.fee_initial_fen, fee_refresher_fen=programme.fee_refresher_fen
    )
    for trainee in trainees:
        live = trainee.status in LIVE_STATUSES
        summary.lines.append(
            FeeLine(trainee=trainee, fee_fen=programme.fee_fen_for(trainee.training_category), live=live)
        )
        if live:
            if trainee.training_category == TrainingCategory.INITIAL:
                summary.count_initial += 1
            else:
                summary.count_refresher += 1
    return summary


# ---------------------------------------------------------------------------------------------
# Money per trainee: what is paid, reported and still due


# ``name -> callable(trainee_ids) -> {trainee_id: (confirmed_fen, reported_fen)}``: the part of each
# trainee's fee covered by confirmed payments and by payments reported but not confirmed yet. The
# payments app registers it from its AppConfig.ready (registration must not import payments);
# it answers in a fixed number of queries whatever the number of trainees. Without it nothing is
# paid or reported.
PAYMENT_SHARE_PROVIDERS: dict[str, Callable[[list[int]], dict[int, tuple[int, int]]]] = {}

UNDER_REVIEW_STATUSES = (TraineeStatus.SUBMITTED, TraineeStatus.RETURNED)


@dataclass
class TraineeMoney:
    """One trainee's fee and where it stands, in fen.

    ``paid_fen`` (已缴) is confirmed; ``pending_fen`` (待确认) is reported and awaits finance;
    ``due_fen`` (尚需) is what is left to pay now: only an approved trainee owes anything now, and a
    reported payment is never counted as still due. A trainee under review owes ``fee_fen`` after
    approval (``later_fen``); a withdrawn or rejected one owes nothing.
    """

    trainee: Trainee
    fee_fen: int
    paid_fen: int = 0
    pending_fen: int = 0
    due_fen: int = 0
    later_fen: int = 0

    @property
    def live(self) -> bool:
        return self.trainee.status in LIVE_STATUSES

    fee_yuan = property(lambda self: yuan(self.fee_fen))
    paid_yuan = property(lambda self: yuan(self.paid_fen))
    pending_yuan = property(lambda self: yuan(self.pending_fen))
    due_yuan = property(lambda self: yuan(self.due_fen))
    later_yuan = property(lambda self: yuan(self.later_fen))

    @property
    def state(self) -> str:
        """``"paid"``, ``"pending"``, ``"due"``, ``"review"`` (owes after approval) or ``"none"``."""
        if self.later_fen:
            return "review"
        if self.due_fen:
            return "due"
        if self.pending_fen:
            return "pending"
        if self.paid_fen:
            return "paid"
        return "none"


@dataclass
class ApplicationMoney:
    """The money of an application, per trainee and in total (fen; ``yuan()`` or ``Decimal`` to show)."""

    application: Application
    rows: list[TraineeMoney] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(row, name) for row in self.rows)

    @property
    def paid_fen(self) -> int:
        return self._sum("paid_fen")

    @property
    def pending_fen(self) -> int:
        return self._sum("pending_fen")

    @property
    def due_fen(self) -> int:
        return self._sum("due_fen")

    @property
    def later_fen(self) -> int:
        return self._sum("later_fen")

    @property
    def fee_fen(self) -> int:
        """The fees of the approved trainees (what is paid, reported or due now)."""
        return sum(row.fee_fen for row in self.rows if row.trainee.status == TraineeStatus.APPROVED)

    @property
    def due_amount(self) -> Decimal:
        """What is due now in yuan, exact: 240000 fen → ``Decimal("2400.00")``."""
        return Decimal(self.due_fen).scaleb(-2)

    fee_yuan = property(lambda self: yuan(self.fee_fen))
    paid_yuan = property(lambda self: yuan(self.paid_fen))
    pending_yuan = property(lambda self: yuan(self.pending_fen))
    due_yuan = property(lambda self: yuan(self.due_fen))
    later_yuan = property(lambda self: yuan(self.later_fen))

    @property
    def live_rows(self) -> list[TraineeMoney]:
        return [row for row in self.rows if row.live]

    @property
    def under_review(self) -> list[TraineeMoney]:
        return [row for row in self.rows if row.later_fen]

    @property
    def due_rows(self) -> list[TraineeMoney]:
        return [row for row in self.rows if row.due_fen]


def trainees_payment_shares(trainee_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """``{trainee_id: (confirmed_fen, reported_fen)}`` from the registered providers (zeros without)."""
    trainee_ids = list(trainee_ids)
    shares = dict.fromkeys(trainee_ids, (0, 0))
    if not trainee_ids:
        return shares
    for provider in PAYMENT_SHARE_PROVIDERS.values():
        for trainee_id, (confirmed, reported) in provider(trainee_ids).items():
            if trainee_id in shares:
                old_confirmed, old_reported = shares[trainee_id]
                shares[trainee_id] = (old_confirmed + confirmed, old_reported + reported)
    return shares


def application_money(
    *,
    application: Application,
    trainees: list[Trainee] | None = None,
    shares: dict[int, tuple[int, int]] | None = None,
) -> ApplicationMoney:
    """Per trainee 已缴 / 待确认 / 尚需 and the totals: the one place the application page and the
    payment page read the money from. Pass ``trainees`` (the application's, in page order) when
    already loaded; one query for them otherwise, and the providers' fixed number of queries."""
    if trainees is None:
        trainees = list(application.trainees.order_by("row_number", "pk"))
    programme = application.programme
    if shares is None:  # given by callers that read many applications at once
        shares = trainees_payment_shares(t.pk for t in trainees)
    money = ApplicationMoney(application=application)
    for trainee in trainees:
        fee = programme.fee_fen_for(trainee.training_category)
        confirmed, reported = shares.get(trainee.pk, (0, 0))
        row = TraineeMoney(trainee=trainee, fee_fen=fee, paid_fen=min(confirmed, fee))
        if trainee.paid_at is not None:
            row.paid_fen = fee  # marked paid (by confirmation or by finance on a statement line)
        elif trainee.status == TraineeStatus.APPROVED:
            row.pending_fen = min(reported, fee - row.paid_fen)
            row.due_fen = fee - row.paid_fen - row.pending_fen
        elif trainee.status in UNDER_REVIEW_STATUSES:
            row.later_fen = fee - row.paid_fen
        money.rows.append(row)
    return money


def trainee_consented_kinds(trainee: Trainee, *, given_by: str) -> set[str]:
    """The kinds of consent recorded for the trainee (given by ``given_by``): attachment 2 shows them
    as given after saving."""
    return set(trainee.consents.filter(given_by=given_by).values_list("kind", flat=True))


def return_reasons_active() -> list[str]:
    """The texts of the active preset return / reject reasons, in their order (one query)."""
    return list(
        ReturnReason.objects.filter(active=True).order_by("order", "pk").values_list("text", flat=True)
    )


# --- Unit accounts (registration.services.units) ------------------------------------------------


@dataclass
class UnitApplicationRow:
    """One application on the unit account's home: its trainees by status and its money."""

    application: Application
    trainees: list[Trainee]
    money: ApplicationMoney

    @property
    def live_count(self) -> int:
        return sum(1 for trainee in self.trainees if trainee.status in LIVE_STATUSES)

    @property
    def status_counts(self) -> list[tuple[str, str, int]]:
        """``(status, label, count)`` for each status present, in the statuses' order."""
        counts: dict[str, int] = {}
        for trainee in self.trainees:
            counts[trainee.status] = counts.get(trainee.status, 0) + 1
        return [(value, label, counts[value]) for value, label in TraineeStatus.choices if value in counts]


def unit_applications(unit) -> list[UnitApplicationRow]:
    """Every application of ``unit`` across programmes and years (newest first) with its trainees
    and money: a fixed number of queries however many applications and trainees."""
    applications = list(
        Application.objects.filter(unit=unit).select_related("programme").order_by("-submitted_at", "-pk")
    )
    trainees_by_application: dict[int, list[Trainee]] = {a.pk: [] for a in applications}
    trainees = list(
        Trainee.objects.filter(application__in=applications)
        .defer("work_history")
        .order_by("application_id", "row_number", "pk")
    )
    for trainee in trainees:
        trainees_by_application[trainee.application_id].append(trainee)
    shares = trainees_payment_shares(t.pk for t in trainees)
    rows = []
    for application in applications:
        own = trainees_by_application[application.pk]
        for trainee in own:
            trainee.application = application
            if trainee.programme_id == application.programme_id:
                trainee.programme = application.programme
        money = application_money(application=application, trainees=own, shares=shares)
        rows.append(UnitApplicationRow(application=application, trainees=own, money=money))
    return rows


def unit_contacts_active(unit) -> list:
    """The unit's active contacts, oldest first."""
    return list(unit.contacts.filter(active=True).order_by("created_at", "pk"))


def trainees_review_queue(*, programme_id: int | None = None):
    """Trainees awaiting review whose attachment 2 is complete (what ``Trainee.attachment2_complete``
    requires), the longest waiting first: the review queue's order."""
    from django.db.models import Q

    queryset = (
        Trainee.objects.filter(
            status=TraineeStatus.SUBMITTED, declared_at__isnull=False, safety_years__isnull=False
        )
        .exclude(Q(education="") | Q(work_unit="") | Q(mailing_address="") | Q(work_history=""))
        .exclude(Q(photo="") | Q(id_front="") | Q(id_back=""))
        .order_by("status_changed_at", "pk")
    )
    return queryset.filter(programme_id=programme_id) if programme_id else queryset
