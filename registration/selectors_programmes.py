"""Read-side queries of the public programme pages: every programme grouped by where its
registration stands today (open, upcoming, closed), one programme's page, and the programme a
sign-up form is for."""

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from .models import Programme
from .selectors import programme_current, yuan

OPEN, UPCOMING, CLOSED = "open", "upcoming", "closed"
#: The closed programmes listed: the latest ones (one a year), older ones are of no use to visitors.
CLOSED_SHOWN = 6


def programme_state(programme: Programme, *, day: date) -> str:
    """``"open"`` (registration open on ``day``), ``"upcoming"`` or ``"closed"``."""
    if programme.opens_on > day:
        return UPCOMING
    if programme.closes_on < day:
        return CLOSED
    return OPEN


@dataclass(frozen=True)
class ProgrammeCard:
    """A programme as the public pages show it: its state on the day and its fees in yuan."""

    programme: Programme
    state: str

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    @property
    def fee_initial(self) -> str:
        return yuan(self.programme.fee_initial_fen)

    @property
    def fee_refresher(self) -> str:
        return yuan(self.programme.fee_refresher_fen)


@dataclass
class ProgrammeGroups:
    open: list[ProgrammeCard] = field(default_factory=list)
    upcoming: list[ProgrammeCard] = field(default_factory=list)
    closed: list[ProgrammeCard] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.open or self.upcoming or self.closed)


def programmes_grouped(*, day: date | None = None) -> ProgrammeGroups:
    """Every programme by its state on ``day`` (today in the site's time zone, Asia/Shanghai): open
    ones closing soonest first, upcoming ones opening soonest first, the latest closed ones. One query."""
    day = day or timezone.localdate()
    groups = ProgrammeGroups()
    for programme in Programme.objects.order_by("opens_on", "pk"):
        card = ProgrammeCard(programme=programme, state=programme_state(programme, day=day))
        getattr(groups, card.state).append(card)
    groups.open.sort(key=lambda card: (card.programme.closes_on, card.programme.pk))
    groups.closed.sort(key=lambda card: (card.programme.closes_on, card.programme.pk), reverse=True)
    del groups.closed[CLOSED_SHOWN:]
    return groups


def programme_card(*, pk: int, day: date | None = None) -> ProgrammeCard | None:
    """One programme for its public page, or ``None``. One query."""
    programme = Programme.objects.filter(pk=pk).first()
    if programme is None:
        return None
    return ProgrammeCard(
        programme=programme, state=programme_state(programme, day=day or timezone.localdate())
    )


def programme_for_signup(*, chosen: str | None, day: date | None = None) -> Programme | None:
    """The programme a sign-up form is for: the one ``chosen`` (``?programme=<id>`` of the programme
    pages' buttons) if its registration is open on ``day``; without a choice, the current one
    (:func:`registration.selectors.programme_current`). ``None``: nothing to sign up for (a chosen
    programme that is not open is never swapped for another one)."""
    day = day or timezone.localdate()
    if not chosen:
        return programme_current(day=day)
    if not (chosen.isascii() and chosen.isdigit() and len(chosen) <= 9):
        return None
    return Programme.objects.filter(pk=int(chosen), opens_on__lte=day, closes_on__gte=day).first()
