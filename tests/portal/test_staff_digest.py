"""The staff digests (portal.dashboard.services): working days, configured times, once per slot,
nothing when nothing is new, links to the filtered admin lists."""

import datetime as dt
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from django.utils import timezone

from learning.models import VideoStatus
from payments.models import PaymentStatus
from portal.celery import staff_digest_schedule
from portal.dashboard.services import staff_digest_send, staff_digest_slot, staff_digests_send
from portal.models import OutboundMessage, StaffDigest
from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER
from portal.tasks import staff_digests_send as staff_digests_task
from registration.models import Trainee
from tests.factories import (
    LessonFactory,
    PaymentFactory,
    RuleFactory,
    StaffFactory,
    TraineeFactory,
    bank_make,
    template_make,
)

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
THURSDAY_0900 = dt.datetime(2025, 11, 13, 9, 0, 30, tzinfo=SHANGHAI)


@pytest.fixture
def reviewers():
    return [
        StaffFactory(role=REVIEWER, email="rev1@example.com"),
        StaffFactory(role=REVIEWER, email="rev2@example.com"),
        StaffFactory(role=REVIEWER, email=""),  # no address: not mailed
        StaffFactory(role=REVIEWER, email="gone@example.com", is_active=False),
    ]


def _sign_up(at: dt.datetime, **fields) -> Trainee:
    trainee = TraineeFactory(**fields)
    Trainee.objects.filter(pk=trainee.pk).update(created_at=at)
    return trainee


def _links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


def test_reviewers_get_one_digest_each_with_counts_and_links(
    reviewers, mailoutbox, django_capture_on_commit_callbacks, client, settings
):
    settings.PORTAL_SITE_URL = "https://peixun.example.org"
    before = THURSDAY_0900 - dt.timedelta(days=2)
    _sign_up(THURSDAY_0900 - dt.timedelta(hours=3))
    _sign_up(THURSDAY_0900 - dt.timedelta(hours=2))
    _sign_up(before)  # before the previous slot: not new
    StaffDigest.objects.create(role=REVIEWER, slot_at=THURSDAY_0900 - dt.timedelta(hours=18), since=before)
    with time_machine.travel(THURSDAY_0900, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert staff_digest_send(role=REVIEWER, now=timezone.now()) == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["rev1@example.com", "rev2@example.com"]
    body = mailoutbox[0].body
    assert "新报名待审核: 2" in body or "New sign-ups awaiting review: 2" in body
    links = _links(body)
    assert links and all(link.startswith("https://peixun.example.org/admin/") for link in links)
    # Each link opens the filtered admin list and lists exactly what the digest counted.
    client.force_login(StaffFactory(is_superuser=True))
    first = urlsplit(links[0])
    response = client.get(first.path, dict(parse_qsl(first.query)))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    digest = StaffDigest.objects.get(role=REVIEWER, slot_at=dt.datetime(2025, 11, 13, 9, 0, tzinfo=SHANGHAI))
    assert digest.recipients == 2 and digest.counts["new_applications"] == 2


def test_same_slot_twice_sends_once(reviewers, mailoutbox, django_capture_on_commit_callbacks):
    _sign_up(THURSDAY_0900 - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        with time_machine.travel(THURSDAY_0900, tick=False):
            assert staff_digest_send(role=REVIEWER, now=timezone.now()) == 2
        with time_machine.travel(THURSDAY_0900 + dt.timedelta(minutes=20), tick=False):
            assert staff_digest_send(role=REVIEWER, now=timezone.now()) == 0
    assert len(mailoutbox) == 2
    assert OutboundMessage.objects.filter(kind="staff_digest").count() == 2


def test_nothing_new_no_mail(reviewers, mailoutbox, django_capture_on_commit_callbacks):
    _sign_up(THURSDAY_0900 - dt.timedelta(days=3))
    with time_machine.travel(THURSDAY_0900, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert staff_digest_send(role=REVIEWER, now=timezone.now()) == 0
    assert mailoutbox == []
    # The slot is still recorded: the 15:00 digest counts from 09:00.
    assert StaffDigest.objects.filter(role=REVIEWER).count() == 1


def test_next_slot_counts_since_the_previous_one(reviewers, mailoutbox, django_capture_on_commit_callbacks):
    _sign_up(THURSDAY_0900 - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        with time_machine.travel(THURSDAY_0900, tick=False):
            staff_digest_send(role=REVIEWER, now=timezone.now())
        _sign_up(THURSDAY_0900 + dt.timedelta(hours=2))
        with time_machine.travel(THURSDAY_0900.replace(hour=15), tick=False):
            assert staff_digest_send(role=REVIEWER, now=timezone.now()) == 2
    afternoon = StaffDigest.objects.get(slot_at=THURSDAY_0900.replace(hour=15, second=0))
    assert afternoon.counts["new_applications"] == 1


@pytest.mark.parametrize(
    ("moment", "slot"),
    [
        (dt.datetime(2025, 11, 13, 8, 59, tzinfo=SHANGHAI), None),  # before the first time
        (dt.datetime(2025, 11, 13, 9, 0, tzinfo=SHANGHAI), "09:00"),
        (dt.datetime(2025, 11, 13, 14, 59, tzinfo=SHANGHAI), "09:00"),
        (dt.datetime(2025, 11, 13, 16, 0, tzinfo=SHANGHAI), "15:00"),
        (dt.datetime(2025, 11, 15, 9, 30, tzinfo=SHANGHAI), None),  # a Saturday
        (dt.datetime(2025, 10, 3, 9, 30, tzinfo=SHANGHAI), None),  # National Day holiday, a Friday
        (dt.datetime(2025, 9, 28, 9, 30, tzinfo=SHANGHAI), "09:00"),  # a Sunday worked
    ],
)
def test_slot_follows_the_configured_times_and_working_days(moment, slot):
    found = staff_digest_slot(now=moment)
    assert (found and f"{timezone.localtime(found):%H:%M}") == slot


def test_holiday_sends_nothing(reviewers, mailoutbox, django_capture_on_commit_callbacks):
    holiday = dt.datetime(2025, 10, 3, 9, 0, tzinfo=SHANGHAI)
    _sign_up(holiday - dt.timedelta(hours=1))
    with time_machine.travel(holiday, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert staff_digests_task() == {REVIEWER: 0, FINANCE: 0, COURSE_ADMIN: 0}
    assert mailoutbox == [] and not StaffDigest.objects.exists()


def test_configured_times(settings, reviewers, mailoutbox, django_capture_on_commit_callbacks):
    settings.PORTAL_STAFF_DIGEST_TIMES = ["10:30"]
    _sign_up(THURSDAY_0900 - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_digest_send(role=REVIEWER, now=THURSDAY_0900) == 0  # 09:00 is no longer a time
        assert staff_digest_send(role=REVIEWER, now=THURSDAY_0900.replace(hour=10, minute=31)) == 2
    schedule = staff_digest_schedule("08:15, 17:00")
    assert [(e["task"], e["schedule"].hour, e["schedule"].minute) for e in schedule.values()] == [
        ("portal.tasks.staff_digests_send", {8}, {15}),
        ("portal.tasks.staff_digests_send", {17}, {0}),
    ]


def test_beat_schedule_has_the_default_times():
    from portal.celery import BEAT_SCHEDULE, app

    app.loader.import_default_modules()  # configure the app: the digest entries come from settings
    _ = app.conf.beat_schedule
    times = sorted(
        (min(e["schedule"].hour), min(e["schedule"].minute))
        for e in BEAT_SCHEDULE.values()
        if e["task"] == "portal.tasks.staff_digests_send"
    )
    assert times == [(9, 0), (15, 0)]


def test_finance_digest_reported_payments(mailoutbox, django_capture_on_commit_callbacks):
    StaffFactory(role=FINANCE, email="fin@example.com")
    StaffFactory(role=REVIEWER, email="rev@example.com")
    with time_machine.travel(THURSDAY_0900 - dt.timedelta(hours=1), tick=False):
        PaymentFactory(status=PaymentStatus.REPORTED)
        PaymentFactory(status=PaymentStatus.CONFIRMED)
    with time_machine.travel(THURSDAY_0900, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert staff_digests_send(now=timezone.now()) == {REVIEWER: 0, FINANCE: 1, COURSE_ADMIN: 0}
    (message,) = mailoutbox
    assert message.to == ["fin@example.com"]
    assert StaffDigest.objects.get(role=FINANCE).counts == {"payments_reported": 1, "invoices_due": 0}
    assert any("/admin/payments/payment/?status__exact=reported" in link for link in _links(message.body))


def test_course_admin_digest_failed_videos_and_short_templates(
    mailoutbox, django_capture_on_commit_callbacks
):
    StaffFactory(role=COURSE_ADMIN, email="course@example.com")
    LessonFactory(video_status=VideoStatus.FAILED)
    LessonFactory(video_status=VideoStatus.READY)
    bank_make(single=3, multiple=4, true_false=6)
    short = template_make()  # needs 5 single-choice questions: the bank has 3
    RuleFactory(template=short, count=1)
    with time_machine.travel(THURSDAY_0900, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert staff_digest_send(role=COURSE_ADMIN, now=timezone.now()) == 1
    assert StaffDigest.objects.get(role=COURSE_ADMIN).counts == {"failed_videos": 1, "short_templates": 1}
    links = _links(mailoutbox[0].body)
    assert any("/admin/learning/lesson/?video_status__exact=failed" in link for link in links)
    assert any("/admin/exams/examtemplate/" in link for link in links)
