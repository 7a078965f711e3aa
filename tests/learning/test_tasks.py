import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core import mail

from learning import tasks
from learning.models import Enrollment, EnrollmentReminder, EnrollmentStatus
from portal.celery import BEAT_SCHEDULE, app
from registration.services.payment import trainee_mark_paid
from tests.factories import ApprovedTraineeFactory, PaidTraineeFactory

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.django_db
def test_payment_confirmed_opens_the_account_and_tells_the_trainee(
    django_capture_on_commit_callbacks, sms_outbox
):
    trainee = ApprovedTraineeFactory(mobile="13800138010", email="li@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        trainee_mark_paid(trainee=trainee)
    enrollment = Enrollment.objects.get(trainee=trainee)
    assert enrollment.user.mobile == "13800138010"
    assert enrollment.welcome_sent_at is not None
    assert [m.mobile for m in sms_outbox] == ["13800138010"]
    assert [m.to for m in mail.outbox] == [["li@example.org"]]
    # Confirming the payment again changes nothing and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        trainee_mark_paid(trainee=trainee)
    assert Enrollment.objects.count() == 1 and len(sms_outbox) == 1


@pytest.mark.django_db
def test_nothing_is_opened_before_the_payment_commits(django_capture_on_commit_callbacks):
    trainee = ApprovedTraineeFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        trainee_mark_paid(trainee=trainee)
        assert not Enrollment.objects.exists()
    assert callbacks  # the signal (and so the task) waits for the commit


@pytest.mark.django_db
def test_account_open_task_skips_an_unpaid_trainee(sms_outbox):
    trainee = ApprovedTraineeFactory()
    assert tasks.account_open.delay(trainee_id=trainee.pk).get() is None
    assert tasks.account_open.delay(trainee_id=999_999).get() is None
    assert not Enrollment.objects.exists() and not sms_outbox


@pytest.mark.django_db
def test_every_job_twice_changes_nothing_the_second_time(django_capture_on_commit_callbacks, sms_outbox):
    with time_machine.travel(START, tick=False) as clock:
        PaidTraineeFactory()
        PaidTraineeFactory()
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                tasks.accounts_sweep.delay()
        assert Enrollment.objects.count() == 2 and len(sms_outbox) == 2
        clock.move_to(START + timedelta(days=23))
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                tasks.reminders_notify.delay()
        assert EnrollmentReminder.objects.count() == 2 and len(sms_outbox) == 4
        clock.move_to(START + timedelta(days=30))
        for expected in (2, 0):
            with django_capture_on_commit_callbacks(execute=True):
                assert tasks.enrollments_expire.delay().get() == expected
    assert set(Enrollment.objects.values_list("status", flat=True)) == {EnrollmentStatus.EXPIRED}
    assert len(sms_outbox) == 6  # two welcomes, two reminders, two expiry notices


def test_jobs_are_in_the_beat_schedule():
    tasks_scheduled = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {
        "learning.tasks.accounts_sweep",
        "learning.tasks.reminders_send",
        "learning.tasks.enrollments_expire",
    } <= tasks_scheduled
    app.loader.import_default_modules()
    for name in tasks_scheduled:
        assert name in app.tasks


@pytest.mark.services("redis", "postgres")
@pytest.mark.django_db(transaction=True)
def test_jobs_through_a_real_worker_on_redis(sms_outbox):
    """The sweep and the expiry job round-trip through Redis to a real worker thread."""
    trainee = PaidTraineeFactory(mobile="13800138011")
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = tasks.accounts_sweep.delay()
            assert result.get(timeout=30)["opened"] == 1
            enrollment = Enrollment.objects.get(trainee=trainee)
            Enrollment.objects.filter(pk=enrollment.pk).update(deadline=START)
            assert tasks.enrollments_expire.delay().get(timeout=30) == 1
            assert tasks.enrollments_expire.delay().get(timeout=30) == 0
            # the welcome message was queued on commit to the same worker
            for _ in range(100):
                enrollment.refresh_from_db()
                if enrollment.welcome_sent_at:
                    break
                import time

                time.sleep(0.1)
    finally:
        app.conf.task_always_eager = True
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.EXPIRED
    assert enrollment.welcome_sent_at is not None
    # The welcome (on opening) and the expiry notice (on expiry), each once, though the expiry
    # job ran twice.
    assert [(m.mobile, m.kind) for m in sms_outbox] == [
        ("13800138011", "account_opened"),
        ("13800138011", "enrollment_expired"),
    ]
