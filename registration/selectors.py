"""Read-side queries of registration: the open programme, fees due, what reviewers look at."""

from dataclasses import dataclass, field

from django.utils import timezone

from .models import LIVE_STATUSES, Application, Programme, Trainee, TrainingCategory


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
