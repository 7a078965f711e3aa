"""The working-day calendar's official data (issue #17): importing a year's holidays and adjusted
working days, and the warnings while next year has none.

A year is *official* when ``chinesecalendar`` knows it or staff imported its arrangement
(:func:`calendar_year_import`, from ``manage.py calendar_import FILE`` or the admin upload page),
which marks the :class:`portal.models.CalendarYear` official. Deadlines counted over a year without
official data are provisional (``portal.workdays.working_days_deadline``); after an import
:data:`calendar_changed` is sent on commit and the apps recompute their pending provisional
deadlines (payments: invoices; certificates: mailing), auditing each move.

The file: one day a line, ``2027-01-01,holiday`` or ``2027-02-07,workday`` (also ``休`` / ``班``),
an optional third column with the name (``2027-01-01,holiday,元旦``); blank lines and lines starting
with ``#`` are ignored. It is the year's whole arrangement: the year's rows not in the file are
removed. Days of the neighbouring December or January (an arrangement crossing the new year) are
allowed. All or nothing: any bad line refuses the whole file, every problem listed with its line.
"""

from dataclasses import dataclass
from datetime import date

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import CalendarYear, Holiday, User
from .services import audit_record
from .spreadsheets import table_rows_read
from .workdays import official_years

#: Sent after the commit of a calendar import: ``years`` (list of int) got official data.
calendar_changed = Signal()

CALENDAR_FILE_MAX_BYTES = 64 * 1024
CALENDAR_FILE_MAX_ROWS = 2000
HOLIDAY_WORDS = {"holiday", "休", "假", "休息", "放假"}
WORKDAY_WORDS = {"workday", "班", "上班", "补班", "调休上班"}
#: From this day of a year (month, day), next year's missing calendar is warned about.
WARN_FROM = (11, 1)


@dataclass(frozen=True)
class CalendarDay:
    date: date
    is_workday: bool
    name: str = ""


@dataclass
class CalendarImportResult:
    year: int
    holidays: int
    workdays: int
    removed: int


def calendar_file_parse(*, content: bytes | str, year: int | None = None) -> tuple[int, list[CalendarDay]]:
    """The year and the days of a calendar file; :class:`ValidationError` listing every bad line."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if len(data) > CALENDAR_FILE_MAX_BYTES:
        raise ValidationError(_("The calendar file is too large (at most 64 KB)."))
    # UTF-8 or GB18030 text (or an .xlsx), read by the one table reader of the portal.
    rows = table_rows_read(data, max_rows=CALENDAR_FILE_MAX_ROWS, max_columns=10)
    if len(rows) > CALENDAR_FILE_MAX_ROWS:
        raise ValidationError(
            _("The calendar file has more than %(count)s lines.") % {"count": CALENDAR_FILE_MAX_ROWS}
        )
    errors: list[str] = []
    days: list[tuple[int, CalendarDay]] = []
    seen: dict[date, int] = {}
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        raw_date = cells[0]
        kind = cells[1].lower() if len(cells) > 1 else ""
        try:
            day = date.fromisoformat(raw_date)
        except ValueError:
            errors.append(
                _("Line %(line)s: “%(value)s” is not a date (YYYY-MM-DD).")
                % {"line": number, "value": raw_date[:20]}
            )
            continue
        if kind in HOLIDAY_WORDS:
            is_workday = False
        elif kind in WORKDAY_WORDS:
            is_workday = True
        else:
            errors.append(
                _("Line %(line)s: the kind must be “holiday” or “workday” (or 休 / 班), not “%(value)s”.")
                % {"line": number, "value": kind[:20]}
            )
            continue
        if day in seen:
            errors.append(
                _("Line %(line)s: %(date)s is already on line %(first)s.")
                % {"line": number, "date": day.isoformat(), "first": seen[day]}
            )
            continue
        seen[day] = number
        name = cells[2][:60] if len(cells) > 2 else ""
        days.append((number, CalendarDay(date=day, is_workday=is_workday, name=name)))
    if not days and not errors:
        raise ValidationError(_("The calendar file lists no days."))
    if year is None and days:
        years = [day.date.year for _number, day in days]
        year = max(set(years), key=years.count)
    for number, day in days:
        if not _belongs_to(day.date, year):
            errors.append(
                _("Line %(line)s: %(date)s is not in %(year)s (nor in the neighbouring December or January).")
                % {"line": number, "date": day.date.isoformat(), "year": year}
            )
    if errors:
        raise ValidationError(errors)
    return year, [day for _number, day in days]


def _belongs_to(day: date, year: int) -> bool:
    return (
        day.year == year
        or (day.year == year - 1 and day.month == 12)
        or (day.year == year + 1 and day.month == 1)
    )


def calendar_year_import(
    *, content: bytes | str, actor: User | None, year: int | None = None, ip: str | None = None
) -> CalendarImportResult:
    """Import a year's official arrangement (all or nothing) and mark the year official.

    The year's holiday rows are replaced by the file's; the pending deadlines computed without
    official data are recomputed after the commit (:data:`calendar_changed`)."""
    year, days = calendar_file_parse(content=content, year=year)
    with transaction.atomic():
        calendar_year, _created = CalendarYear.objects.select_for_update().get_or_create(year=year)
        listed = {day.date for day in days}
        before = Holiday.objects.filter(date__year=year).count()
        removed, _details = Holiday.objects.filter(date__year=year).exclude(date__in=listed).delete()
        existing = {row.date: row for row in Holiday.objects.filter(date__in=listed)}
        to_update = []
        to_create = []
        for day in days:
            row = existing.get(day.date)
            if row is None:
                to_create.append(Holiday(date=day.date, is_workday=day.is_workday, name=day.name))
            else:
                row.is_workday, row.name = day.is_workday, day.name
                to_update.append(row)
        Holiday.objects.bulk_create(to_create)
        Holiday.objects.bulk_update(to_update, ["is_workday", "name"])
        was_official = calendar_year.official
        calendar_year.official = True
        calendar_year.imported_at = timezone.now()
        calendar_year.imported_by = actor if actor is not None and actor.pk else None
        calendar_year.save(update_fields=["official", "imported_at", "imported_by"])
        result = CalendarImportResult(
            year=year,
            holidays=sum(1 for day in days if not day.is_workday),
            workdays=sum(1 for day in days if day.is_workday),
            removed=removed,
        )
        audit_record(
            actor=actor,
            action="calendar.imported",
            target=calendar_year,
            old={"official": was_official, "days": before},
            new={
                "official": True,
                "holidays": result.holidays,
                "workdays": result.workdays,
                "removed": removed,
            },
            ip=ip,
        )
        transaction.on_commit(lambda: calendar_changed.send(sender=CalendarYear, years=[year]))
    return result


def calendar_years_missing(*, today: date | None = None) -> list[int]:
    """The years that need official data and have none: this year, and next year from 1 November."""
    today = today or timezone.localdate()
    years = [today.year]
    if (today.month, today.day) >= WARN_FROM:
        years.append(today.year + 1)
    known = official_years(years)
    return [year for year in years if year not in known]


def calendar_warnings(*, today: date | None = None) -> list[str]:
    """The staff warnings (dashboard, admin) about years without official calendar data."""
    return [
        _(
            "The working-day calendar has no official data for %(year)s: import the year's holidays and "
            "adjusted working days (Holidays and adjusted working days › Import). Deadlines counted "
            "into %(year)s are provisional until then."
        )
        % {"year": year}
        for year in calendar_years_missing(today=today)
    ]


def dashboard_section(request) -> dict:
    """The staff dashboard's calendar warning (``learning.admin.DASHBOARD_SECTIONS``)."""
    return {
        "title": _("Working-day calendar"),
        "template": "admin/portal/_calendar_section.html",
        "warnings": calendar_warnings(),
    }


@checks.register("portal_calendar", deploy=True)
def check_calendar_next_year(app_configs=None, today: date | None = None, **kwargs):
    """``portal.W301`` (deploy): from 1 November, next year (or this year) has no official data."""
    try:
        missing = calendar_years_missing(today=today)
    except DatabaseError:  # no database at build time: nothing to say
        return []
    return [
        checks.Warning(
            f"The working-day calendar has no official data for {year}: deadlines counted into it are "
            "provisional (Monday-Friday).",
            hint="Import the year's holidays and adjusted working days: manage.py calendar_import FILE "
            "(README, Go-live checklist).",
            id="portal.W301",
        )
        for year in missing
    ]
