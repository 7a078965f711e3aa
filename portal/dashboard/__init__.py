"""The staff dashboard (``/admin/dashboard/``) and the staff digests: figures per role.

The site shell must not import the apps later in the pipeline, so each app contributes its own
figures from its ``AppConfig.ready`` (``<app>/dashboard.py``), the way the pipeline dashboard's
sections are collected (``learning.admin.DASHBOARD_SECTIONS``):

- :data:`CHARTS`: a :class:`ChartSpec` per chart (role, key, provider). A provider takes a
  :class:`DashboardFilter` and returns a :class:`Chart` from **one** aggregate query whatever the
  number of trainees (GROUP BY the local date, conditional counts), so the page's query count is
  fixed;
- :data:`DIGEST_ITEMS`: a :class:`DigestItemSpec` per alert of a role's digest. A provider takes
  ``since`` / ``now`` and returns a :class:`DigestItem` (label, count, the filtered admin list).

Modules: :mod:`.svg` (the charts as inline SVG, no script), :mod:`.selectors` (what a user sees),
:mod:`.services` (``staff_digest_send``), :mod:`.views` (the admin page).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse


@dataclass(frozen=True)
class DashboardFilter:
    """What the page shows: one programme (``None``: all) and a range of local dates, both ends in."""

    programme_id: int | None
    start: date
    end: date

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(settings.TIME_ZONE)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=self.tz)

    @property
    def end_at(self) -> datetime:
        """The first instant after the range (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.tz)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def programme_q(self, path: str = "programme_id") -> dict:
        """The filter keyword for the programme, empty for all programmes."""
        return {path: self.programme_id} if self.programme_id else {}

    def admin_params(self, path: str = "programme__id__exact") -> dict:
        """The changelist's programme filter as query parameters (none for all programmes)."""
        return {path: self.programme_id} if self.programme_id else {}


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float]


@dataclass
class Chart:
    """One chart with its table: ``categories`` are the x axis / table rows, each series a column.

    ``kind``: ``bar`` (grouped bars), ``stacked`` (stacked bars) or ``line``. ``unit`` is appended to
    the values (``%`` for rates). ``link`` is the filtered admin list behind the figures.
    """

    key: str
    title: str
    kind: str
    categories: list[str]
    series: list[Series]
    link: str = ""
    link_label: str = ""
    unit: str = ""
    note: str = ""
    extra: list[Series] = field(default_factory=list)  # more columns for the table only
    svg: str = ""  # the drawing (portal.dashboard.svg.chart_svg), filled in by the page

    @property
    def dom_id(self) -> str:
        return f"chart-{self.key}"

    def rows(self) -> list[tuple[str, list[float]]]:
        return [(category, [s.values[i] for s in self.series]) for i, category in enumerate(self.categories)]

    def table_rows(self) -> list[tuple[str, list[float]]]:
        columns = self.series + self.extra
        return [(category, [s.values[i] for s in columns]) for i, category in enumerate(self.categories)]

    def table_headers(self) -> list[str]:
        return [s.label for s in self.series + self.extra]


@dataclass(frozen=True)
class ChartSpec:
    role: str
    key: str
    provider: Callable[[DashboardFilter], Chart]
    order: int = 100


@dataclass(frozen=True)
class DigestItem:
    label: str
    count: int
    url: str  # the admin list's path (and query); made absolute with PORTAL_SITE_URL in e-mails
    key: str = ""  # the spec's key (set by portal.dashboard.selectors.digest_items)


@dataclass(frozen=True)
class DigestItemSpec:
    role: str
    key: str
    provider: Callable[[datetime, datetime], DigestItem]
    order: int = 100


CHARTS: list[ChartSpec] = []
DIGEST_ITEMS: list[DigestItemSpec] = []
# Where the page's programme filter comes from (registration registers it): a callable returning
# the choices ``[(id, name), ...]`` (latest first) and the current programme's id (or ``None``).
PROGRAMME_SOURCES: list[Callable[[], tuple[list[tuple[int, str]], int | None]]] = []


def chart_register(spec: ChartSpec) -> None:
    """Add a chart (once per key; called from an app's ``ready``)."""
    if all(existing.key != spec.key for existing in CHARTS):
        CHARTS.append(spec)
        CHARTS.sort(key=lambda s: (s.order, s.key))


def digest_item_register(spec: DigestItemSpec) -> None:
    """Add an alert to a role's digest (once per key; called from an app's ``ready``)."""
    if all(existing.key != spec.key for existing in DIGEST_ITEMS):
        DIGEST_ITEMS.append(spec)
        DIGEST_ITEMS.sort(key=lambda s: (s.order, s.key))


def admin_list_url(viewname: str, **params) -> str:
    """The path of an admin list with its filters (``None`` values left out), e.g.
    ``admin_list_url("admin:registration_trainee_changelist", status__exact="submitted")``."""
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return reverse(viewname) + (f"?{query}" if query else "")


def per_day(flt: DashboardFilter, rows) -> list[float]:
    """``rows`` of ``(day, count)`` as one value per day of the range (0 for days without rows)."""
    counts = dict(rows)
    return [counts.get(day, 0) for day in flt.days()]


def day_labels(flt: DashboardFilter) -> list[str]:
    return [f"{day:%m-%d}" for day in flt.days()]


def digest_times_parse(value) -> list[time]:
    """``PORTAL_STAFF_DIGEST_TIMES`` ("09:00,15:00" or a list) as sorted local times."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    moments = set()
    for part in parts:
        hour, _sep, minute = part.strip().partition(":")
        moments.add(time(int(hour), int(minute or 0)))
    return sorted(moments)


def rate(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0
