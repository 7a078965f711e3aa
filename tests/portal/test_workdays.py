import datetime as dt

import pytest

from portal.workdays import is_workday, working_days_add, working_days_between
from tests.factories import HolidayFactory

pytestmark = pytest.mark.django_db


def test_national_day_2025_with_adjusted_working_days():
    # 2025-10-01..08 are holidays; Sunday 2025-09-28 and Saturday 2025-10-11 are working days.
    assert is_workday(dt.date(2025, 9, 28))
    assert not is_workday(dt.date(2025, 10, 3))
    assert is_workday(dt.date(2025, 10, 11))
    # Friday 26 Sep: 28 (Sun, worked), 29, 30, then 9 and 10 October.
    assert working_days_add(start=dt.date(2025, 9, 26), days=5) == dt.date(2025, 10, 10)
    # Monday 29 Sep: 30, 9, 10, 11 (Sat, worked), 13.
    assert working_days_add(start=dt.date(2025, 9, 29), days=5) == dt.date(2025, 10, 13)


def test_2027_falls_back_to_monday_to_friday_without_crashing():
    # chinesecalendar has no data for 2027.
    assert working_days_add(start=dt.date(2027, 3, 5), days=5) == dt.date(2027, 3, 12)
    assert not is_workday(dt.date(2027, 3, 6))


def test_holiday_table_overrides_years_the_package_does_not_know():
    HolidayFactory(date=dt.date(2027, 1, 1), name="元旦")
    HolidayFactory(date=dt.date(2027, 1, 4), name="调休", is_workday=False)
    HolidayFactory(date=dt.date(2027, 1, 9), name="调休上班", is_workday=True)
    # Thu 31 Dec 2026: Fri 1 Jan is a holiday, Mon 4 Jan is off, Sat 9 Jan is worked:
    # 5, 6, 7, 8, 9 January.
    assert working_days_add(start=dt.date(2026, 12, 31), days=5) == dt.date(2027, 1, 9)
    assert working_days_add(start=dt.date(2026, 12, 31), days=6) == dt.date(2027, 1, 11)
    assert working_days_between(start=dt.date(2026, 12, 31), end=dt.date(2027, 1, 11)) == 6


def test_holiday_table_overrides_the_package_too():
    HolidayFactory(date=dt.date(2025, 10, 8), name="加班", is_workday=True)
    assert is_workday(dt.date(2025, 10, 8))


def test_zero_days_and_negative():
    assert working_days_add(start=dt.date(2025, 10, 1), days=0) == dt.date(2025, 10, 1)
    with pytest.raises(ValueError):
        working_days_add(start=dt.date(2025, 10, 1), days=-1)


def test_deadline_is_provisional_while_a_year_of_its_span_has_no_official_data():
    from portal.models import CalendarYear
    from portal.workdays import package_covers_year, working_days_deadline, year_is_official

    assert package_covers_year(2026) and not package_covers_year(2027)
    # Within 2026 (known to the package): official.
    assert working_days_deadline(start=dt.date(2026, 12, 1), days=5) == (dt.date(2026, 12, 8), False)
    # Ends in 2027: provisional, until staff mark 2027 official.
    assert working_days_deadline(start=dt.date(2026, 12, 30), days=5) == (dt.date(2027, 1, 6), True)
    # Starts on 31 December: the span is January only.
    assert working_days_deadline(start=dt.date(2026, 12, 31), days=0) == (dt.date(2026, 12, 31), False)
    assert not year_is_official(2027)
    CalendarYear.objects.create(year=2027, official=True)
    assert year_is_official(2027)
    assert working_days_deadline(start=dt.date(2026, 12, 30), days=5) == (dt.date(2027, 1, 6), False)
