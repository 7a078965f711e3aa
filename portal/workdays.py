"""Chinese working days: statutory holidays and adjusted working days.

The ``chinesecalendar`` package knows the State Council's schedule for the years it ships
(2004-2026 in version 1.11). For later years it raises ``NotImplementedError``; the portal then
falls back to Monday-Friday. The :class:`portal.models.Holiday` table, edited by staff in admin,
overrides both (add next year's holidays and adjusted working days there as soon as they are
published). A year is *official* when the package knows it or the calendar import
(:mod:`portal.workday_calendar`) marked it so (:class:`portal.models.CalendarYear`); a deadline
counted over a day of a year that is not official is *provisional* (:func:`working_days_deadline`)
and is recomputed when the year's data is imported.

Every app counts working days here: payments (the invoice deadline, 5 working days) and
certificates (the mailing deadline, 10 working days after the exam).
"""

from datetime import date, timedelta
from typing import NamedTuple

import chinese_calendar

from .models import CalendarYear, Holiday


class Deadline(NamedTuple):
    """A date counted in working days, and whether a day of the span lacked official data."""

    date: date
    provisional: bool


def package_covers_year(year: int) -> bool:
    """Whether the installed ``chinesecalendar`` has the State Council's schedule for ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 12, 31))
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def official_years(years) -> set[int]:
    """The years among ``years`` with official data (the package, or imported by staff)."""
    wanted = set(years)
    known = {year for year in wanted if package_covers_year(year)}
    rest = wanted - known
    if rest:
        known |= set(CalendarYear.objects.filter(year__in=rest, official=True).values_list("year", flat=True))
    return known


def year_is_official(year: int) -> bool:
    return year in official_years([year])


def _package_is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def _overrides(start: date, end: date) -> dict[date, bool]:
    return dict(Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_workday"))


def is_workday(day: date) -> bool:
    override = _overrides(day, day)
    if day in override:
        return override[day]
    return _package_is_workday(day)


def working_days_add(*, start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself is not counted).

    ``days=0`` returns ``start``. One query for the holiday table, whatever ``days`` is.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    if days == 0:
        return start
    # Long Chinese holidays are at most ~9 days; leave generous room and extend if needed.
    horizon = start + timedelta(days=days * 2 + 30)
    overrides = _overrides(start, horizon)
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if day > horizon:
            horizon = day + timedelta(days=days * 2 + 30)
            overrides.update(_overrides(day, horizon))
        workday = overrides[day] if day in overrides else _package_is_workday(day)
        if workday:
            counted += 1
    return day


def working_days_deadline(*, start: date, days: int) -> Deadline:
    """:func:`working_days_add`, plus whether the deadline is provisional: some day after ``start``
    up to the deadline falls in a year without official data."""
    end = working_days_add(start=start, days=days)
    if end <= start:
        return Deadline(date=end, provisional=False)
    years = range((start + timedelta(days=1)).year, end.year + 1)
    return Deadline(date=end, provisional=bool(set(years) - official_years(years)))


def working_days_between(*, start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    if end <= start:
        return 0
    overrides = _overrides(start, end)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if overrides[day] if day in overrides else _package_is_workday(day):
            count += 1
    return count
