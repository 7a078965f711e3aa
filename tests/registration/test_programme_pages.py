"""The public programme pages: grouping by today's date (Asia/Shanghai), dates, fees, class hours,
sign-up buttons only while open, and the sign-up forms for a chosen programme (``?programme=``)."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from registration.forms import roster_form_data
from registration.models import Application
from registration.selectors_programmes import (
    CLOSED,
    CLOSED_SHOWN,
    OPEN,
    UPCOMING,
    programme_for_signup,
    programmes_grouped,
)
from tests.factories import (
    ATTACHMENT1_CONSENTS_POST,
    AnnouncementFactory,
    ProgrammeFactory,
    applicant_data,
    roster_rows,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _programmes(today: datetime.date) -> dict[str, object]:
    return {
        "open": ProgrammeFactory(name="今年的项目", opens_on=today - 10 * DAY, closes_on=today + 10 * DAY),
        "last_day": ProgrammeFactory(name="今天截止的项目", opens_on=today - 30 * DAY, closes_on=today),
        "upcoming": ProgrammeFactory(name="明年的项目", opens_on=today + DAY, closes_on=today + 90 * DAY),
        "closed": ProgrammeFactory(name="去年的项目", opens_on=today - 400 * DAY, closes_on=today - DAY),
    }


def _names(cards) -> list[str]:
    return [card.programme.name for card in cards]


def test_programmes_are_grouped_by_the_day():
    today = datetime.date(2026, 6, 15)
    _programmes(today)
    groups = programmes_grouped(day=today)
    assert _names(groups.open) == ["今天截止的项目", "今年的项目"]  # closing soonest first
    assert _names(groups.upcoming) == ["明年的项目"]
    assert _names(groups.closed) == ["去年的项目"]
    assert {card.state for card in groups.open} == {OPEN}
    assert groups.upcoming[0].state == UPCOMING and groups.closed[0].state == CLOSED

    # The next day the last-day programme has closed and tomorrow's has opened.
    later = programmes_grouped(day=today + DAY)
    assert _names(later.open) == ["今年的项目", "明年的项目"]
    assert _names(later.closed) == ["今天截止的项目", "去年的项目"]


def test_today_is_the_date_in_shanghai():
    """At 23:30 UTC on 14 June it is already 15 June in Shanghai: a programme opening on the 15th is open."""
    ProgrammeFactory(
        name="六月十五日开放", opens_on=datetime.date(2026, 6, 15), closes_on=datetime.date(2026, 7, 15)
    )
    with time_machine.travel(datetime.datetime(2026, 6, 14, 23, 30, tzinfo=datetime.UTC), tick=False):
        assert _names(programmes_grouped().open) == ["六月十五日开放"]
    with time_machine.travel(datetime.datetime(2026, 6, 14, 15, 30, tzinfo=datetime.UTC), tick=False):
        assert _names(programmes_grouped().upcoming) == ["六月十五日开放"]


def test_only_the_latest_closed_programmes_are_listed():
    today = datetime.date(2026, 6, 15)
    for year in range(CLOSED_SHOWN + 2):
        ProgrammeFactory(
            name=f"{2025 - year}年度",
            year=2025 - year,
            opens_on=datetime.date(2025 - year, 1, 1),
            closes_on=datetime.date(2025 - year, 12, 31),
        )
    closed = _names(programmes_grouped(day=today).closed)
    assert closed == [f"{2025 - n}年度" for n in range(CLOSED_SHOWN)]


def test_list_page_shows_dates_fees_hours_and_buttons_only_while_open(client):
    today = timezone.localdate()
    programmes = _programmes(today)
    programmes["open"].fee_initial_fen = 123_450
    programmes["open"].hours_initial = 40
    programmes["open"].save()

    page = client.get(reverse("portal:programmes")).content.decode()
    cards = dict(re.findall(r'data-programme="(\d+)" data-state="\w+">(.*?)</article>', page, re.S))
    open_card = cards[str(programmes["open"].pk)]
    assert "1,234.50" in open_card and "40" in open_card and "300.00" in open_card
    assert f"{programmes['open'].opens_on:%Y-%m-%d}" in open_card
    assert f"{programmes['open'].closes_on:%Y-%m-%d}" in open_card
    signup = f"{reverse('registration:unit_register')}?programme={programmes['open'].pk}"
    assert signup in open_card
    assert f"{reverse('registration:individual_register')}?programme={programmes['open'].pk}" in open_card
    for key in ("upcoming", "closed"):
        card = cards[str(programmes[key].pk)]
        assert "?programme=" not in card, key
        assert reverse("portal:programme", args=[programmes[key].pk]) in card
    # Groups in order: open, upcoming, closed.
    assert page.index('id="programmes-open"') < page.index('id="programmes-upcoming"')
    assert page.index('id="programmes-upcoming"') < page.index('id="programmes-closed"')


def test_list_page_without_programmes(client):
    page = client.get(reverse("portal:programmes")).content.decode()
    assert "data-programme=" not in page and 'class="alert alert-info"' in page


def test_list_page_queries_do_not_grow_with_programmes(client, django_assert_max_num_queries):
    today = timezone.localdate()
    ProgrammeFactory(opens_on=today - DAY, closes_on=today + DAY)
    with django_assert_max_num_queries(4) as one:
        client.get(reverse("portal:programmes"))
    _programmes(today)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(reverse("portal:programmes")).content.decode()
    assert page.count("data-programme=") == 5


@pytest.mark.parametrize("key,buttons", [("open", True), ("upcoming", False), ("closed", False)])
def test_detail_page(client, key, buttons, django_assert_max_num_queries):
    programme = _programmes(timezone.localdate())[key]
    programme.description_html = '<p>面向本市企业</p><script>alert(1)</script><img src=x onerror="alert(2)">'
    programme.save()
    AnnouncementFactory(title="本项目的考试安排", programme=programme)
    AnnouncementFactory(title="别的项目的通知", programme=ProgrammeFactory())
    with django_assert_max_num_queries(4):
        response = client.get(reverse("portal:programme", args=[programme.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert programme.name in page and "<p>面向本市企业</p>" in page
    assert "alert(" not in page and "onerror" not in page
    assert "本项目的考试安排" in page and "别的项目的通知" not in page
    assert (f"?programme={programme.pk}" in page) is buttons
    assert "800.00" in page and "300.00" in page


def test_detail_page_of_a_missing_programme(client):
    assert client.get(reverse("portal:programme", args=[99999])).status_code == 404


def test_pages_in_english(client):
    programme = ProgrammeFactory(name="2026 online training")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("portal:programmes")).content.decode()
    assert '<html lang="en">' in page
    assert ">Training programmes</h1>" in page and "Open for registration" in page
    assert "Register as a unit" in page and "800.00 yuan, 32 class hours" in page
    detail = client.get(reverse("portal:programme", args=[programme.pk])).content.decode()
    assert "Register as an individual" in detail and "Fees and class hours" in detail


def test_pages_in_chinese(client):
    programme = ProgrammeFactory(name="2026年度线上培训")
    page = client.get(reverse("portal:programmes")).content.decode()
    assert '<html lang="zh-Hans">' in page
    assert "2026年度线上培训" in page and "单位报名" in page and "初始培训" in page
    detail = client.get(reverse("portal:programme", args=[programme.pk])).content.decode()
    assert "单位报名" in detail


# --- Sign-up for a chosen programme ------------------------------------------------------------


def test_programme_for_signup():
    today = timezone.localdate()
    programmes = _programmes(today)
    latest = programmes["open"]  # opened last of the two open ones
    assert programme_for_signup(chosen=None) == latest
    assert programme_for_signup(chosen="") == latest
    assert programme_for_signup(chosen=str(programmes["last_day"].pk)) == programmes["last_day"]
    # A chosen programme that is not open is never swapped for another one.
    assert programme_for_signup(chosen=str(programmes["upcoming"].pk)) is None
    assert programme_for_signup(chosen=str(programmes["closed"].pk)) is None
    for garbage in ("abc", "1e3", "٣", "9" * 30, "-1"):
        assert programme_for_signup(chosen=garbage) is None, garbage


def test_signup_forms_for_a_chosen_programme(client):
    programmes = _programmes(timezone.localdate())
    chosen = programmes["last_day"]
    for name in ("registration:unit_register", "registration:individual_register"):
        page = client.get(f"{reverse(name)}?programme={chosen.pk}").content.decode()
        assert chosen.name in page and programmes["open"].name not in page, name
        closed = client.get(f"{reverse(name)}?programme={programmes['closed'].pk}")
        assert [t.name for t in closed.templates][0] == "registration/closed.html", name
        assert "novalidate" not in closed.content.decode(), name
    # Without a choice: the current programme, as before.
    assert programmes["open"].name in client.get(reverse("registration:unit_register")).content.decode()


def test_unit_application_goes_to_the_chosen_programme(client):
    programmes = _programmes(timezone.localdate())
    chosen = programmes["last_day"]
    applicant = {name: value for name, value in applicant_data().items() if name != "kind"}
    data = {**applicant, **roster_form_data(roster_rows(1)), **ATTACHMENT1_CONSENTS_POST, "action": "submit"}
    response = client.post(f"{reverse('registration:unit_register')}?programme={chosen.pk}", data)
    assert response.status_code == 302, response.context and response.context["error_summary"]
    application = Application.objects.get()
    assert application.programme == chosen
    assert {trainee.programme_id for trainee in application.trainees.all()} == {chosen.pk}


def test_admin_previews_the_description_cleaned(admin_client):
    programme = ProgrammeFactory(
        description_html='<h3>报名须知</h3><script>alert(1)</script><p onclick="x()">须知</p>'
    )
    page = admin_client.get(
        reverse("admin:registration_programme_change", args=[programme.pk])
    ).content.decode()
    assert "<h3>报名须知</h3>" in page and "<p>须知</p>" in page
    assert "<script>alert(1)</script>" not in page and 'onclick="x()"' not in page
