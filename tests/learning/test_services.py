import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone

from learning.models import (
    EXPIRY_AUDIT_ACTION,
    AccessCode,
    Enrollment,
    EnrollmentReminder,
    EnrollmentStatus,
)
from learning.selectors.accounts import access_code_by_link, trainee_account_blocker, trainees_account_overdue
from learning.selectors.enrollments import enrollment_access, enrollment_access_check, enrollment_history
from learning.services.accounts import (
    access_code_request,
    account_open,
    accounts_sweep,
    password_set_by_code,
    password_set_by_link,
)
from learning.services.messages import enrollment_welcome_notify, reminders_notify
from learning.services.windows import enrollment_extend, enrollments_expire
from portal.models import AuditEntry, OutboundMessage, User
from registration.models import TraineeStatus
from tests.factories import (
    ApprovedTraineeFactory,
    PaidTraineeFactory,
    ProgrammeFactory,
    StaffFactory,
    UserFactory,
)

from .helpers import link_token, sms_code

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def open_account(trainee, capture):
    with capture(execute=True):
        return account_open(trainee_id=trainee.pk)


# --- account opening ---------------------------------------------------------------------------


def test_account_open_creates_passwordless_user_enrollment_and_one_message(
    django_capture_on_commit_callbacks, sms_outbox
):
    trainee = PaidTraineeFactory(mobile="13800138000", email="zhang@example.org", name="张三")
    with time_machine.travel(START, tick=False):
        enrollment = open_account(trainee, django_capture_on_commit_callbacks)
    user = User.objects.get(mobile="13800138000")
    assert enrollment.user == user and enrollment.trainee == trainee
    assert not user.has_usable_password()
    assert not user.check_password("12345678")  # no shared default password
    assert enrollment.opened_at == START
    assert enrollment.deadline == START + timedelta(days=30)
    assert enrollment.status == EnrollmentStatus.ACTIVE
    enrollment.refresh_from_db()
    assert enrollment.welcome_sent_at is not None
    assert [(m.mobile, m.kind) for m in sms_outbox] == [("13800138000", "account_opened")]
    token = link_token(sms_outbox[0].message)
    deadline = formats.date_format(timezone.localtime(enrollment.deadline), "Y-m-d H:i")
    assert sms_outbox[0].message == (
        f"张三，您的{trainee.programme.name}学习账号已开通，登录名为本人手机号。请在72小时内打开"
        f"{settings.PORTAL_SITE_URL}/learning/activate/{token}/ 设置密码，并于{deadline}前完成学习和考试。"
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["zhang@example.org"]
    assert "/learning/activate/" in mail.outbox[0].body
    assert AuditEntry.objects.filter(action="enrollment.opened", target_id=str(enrollment.pk)).count() == 1


def test_account_open_twice_makes_one_enrollment_and_sends_once(
    django_capture_on_commit_callbacks, sms_outbox
):
    trainee = PaidTraineeFactory()
    first = open_account(trainee, django_capture_on_commit_callbacks)
    second = open_account(trainee, django_capture_on_commit_callbacks)
    assert first.pk == second.pk
    assert Enrollment.objects.count() == 1
    assert len(sms_outbox) == 1 and len(mail.outbox) == 1


def test_account_open_uses_the_programme_window(django_capture_on_commit_callbacks):
    trainee = PaidTraineeFactory(application__programme=ProgrammeFactory(study_window_days=45))
    enrollment = open_account(trainee, django_capture_on_commit_callbacks)
    assert enrollment.deadline - enrollment.opened_at == timedelta(days=45)


def test_returning_person_reuses_their_account_and_password(django_capture_on_commit_callbacks, sms_outbox):
    existing = UserFactory(mobile="13800138001")
    trainee = PaidTraineeFactory(mobile="13800138001")
    enrollment = open_account(trainee, django_capture_on_commit_callbacks)
    assert enrollment.user == existing
    assert User.objects.filter(mobile="13800138001").count() == 1
    existing.refresh_from_db()
    assert existing.check_password("correct-horse-battery")
    assert "/learning/activate/" not in sms_outbox[0].message
    assert sms_outbox[0].kind == "account_opened_existing"
    assert not AccessCode.objects.filter(user=existing).exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": TraineeStatus.APPROVED, "paid_at": None},
        {"status": TraineeStatus.SUBMITTED},
        {"status": TraineeStatus.REJECTED},
    ],
)
def test_account_open_refuses_unpaid_or_unapproved(kwargs, django_capture_on_commit_callbacks, sms_outbox):
    trainee = PaidTraineeFactory(**kwargs)
    with pytest.raises(ValidationError):
        open_account(trainee, django_capture_on_commit_callbacks)
    assert not Enrollment.objects.exists() and not sms_outbox


def test_welcome_send_is_once(django_capture_on_commit_callbacks, sms_outbox):
    enrollment = open_account(PaidTraineeFactory(email="li@example.org"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert enrollment_welcome_notify(enrollment_id=enrollment.pk) is False
    assert len(sms_outbox) == 1
    # recorded once per channel, about the enrollment, and sent (portal.notifications policy)
    assert sorted(
        OutboundMessage.objects.values_list("event", "channel", "status", "about_id", "subject")
    ) == [
        (
            f"enrollment:{enrollment.pk}:welcome:email",
            "email",
            "sent",
            str(enrollment.pk),
            "您的学习账号已开通",
        ),
        (f"enrollment:{enrollment.pk}:welcome:sms", "sms", "sent", str(enrollment.pk), ""),
    ]


# --- sweep ---------------------------------------------------------------------------------


def test_sweep_opens_missed_accounts_only(django_capture_on_commit_callbacks, sms_outbox):
    missed = PaidTraineeFactory()
    unpaid = ApprovedTraineeFactory()
    returned = PaidTraineeFactory(status=TraineeStatus.RETURNED)
    with django_capture_on_commit_callbacks(execute=True):
        result = accounts_sweep()
    assert result["opened"] == 1
    assert Enrollment.objects.get().trainee == missed
    assert not Enrollment.objects.filter(trainee__in=[unpaid, returned]).exists()
    assert len(sms_outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = accounts_sweep()
    assert again["opened"] == 0 and Enrollment.objects.count() == 1 and len(sms_outbox) == 1


def test_sweep_resends_a_message_that_never_went_out(django_capture_on_commit_callbacks, sms_outbox):
    trainee = PaidTraineeFactory()
    with time_machine.travel(START, tick=False):
        enrollment = account_open(trainee_id=trainee.pk)  # on-commit message lost
    assert not sms_outbox
    with (
        time_machine.travel(START + timedelta(minutes=30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert accounts_sweep()["messages_requeued"] == 1
    enrollment.refresh_from_db()
    assert enrollment.welcome_sent_at is not None and len(sms_outbox) == 1


def test_overdue_selector_lists_paid_without_account(django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False):
        late = PaidTraineeFactory(status=TraineeStatus.RETURNED)
        opened = PaidTraineeFactory()
        open_account(opened, django_capture_on_commit_callbacks)
    with time_machine.travel(START + timedelta(days=2, hours=1), tick=False):
        rows = list(trainees_account_overdue(days=2))
        assert rows == [late]
        assert trainee_account_blocker(late).startswith("报名未审核通过")


# --- reminders ------------------------------------------------------------------------------


def test_reminders_at_day_23_and_28_exactly_once(django_capture_on_commit_callbacks, sms_outbox):
    with time_machine.travel(START, tick=False) as clock:
        enrollment = open_account(
            PaidTraineeFactory(mobile="13800138002"), django_capture_on_commit_callbacks
        )
        sms_outbox.clear()
        mail.outbox.clear()
        sent_on = {}
        for day in range(1, 31):
            clock.move_to(START + timedelta(days=day))
            for _run in range(2):  # every job runs twice
                with django_capture_on_commit_callbacks(execute=True):
                    reminders_notify()
            if sms_outbox:
                sent_on[day] = len(sms_outbox)
                sms_outbox.clear()
    assert sent_on == {23: 1, 28: 1}
    assert set(EnrollmentReminder.objects.filter(enrollment=enrollment).values_list("kind", flat=True)) == {
        "days_7",
        "days_2",
    }
    assert len(mail.outbox) == 2


def test_reminder_only_the_nearest_one_when_opened_late(
    django_capture_on_commit_callbacks, sms_outbox, settings
):
    settings.LEARNING_REMINDER_DAYS = (7, 2)
    with time_machine.travel(START, tick=False) as clock:
        enrollment = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        sms_outbox.clear()
        clock.move_to(START + timedelta(days=29))
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders_notify() == 1
    assert list(enrollment.reminders.values_list("kind", flat=True)) == ["days_2"]
    (sms,) = sms_outbox
    deadline = formats.date_format(timezone.localtime(enrollment.deadline), "Y-m-d H:i")
    assert (sms.kind, sms.message) == (
        "study_deadline_reminder",
        f"{enrollment.trainee.name}，您的{enrollment.programme.name}学习和考试将于{deadline}截止，还剩1天，"
        f"逾期账号作废且不退费。{settings.PORTAL_SITE_URL}/learning/",
    )


def test_reminders_are_set_based(django_capture_on_commit_callbacks):
    programme = ProgrammeFactory()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            account_open(trainee_id=PaidTraineeFactory(application__programme=programme).pk)
        clock.move_to(START + timedelta(days=23))
        with CaptureQueriesContext(connection) as few:
            reminders_notify(batch_size=100)
        clock.move_to(START)
        for _ in range(7):
            account_open(trainee_id=PaidTraineeFactory(application__programme=programme).pk)
    with (
        time_machine.travel(START + timedelta(days=23), tick=False),
        CaptureQueriesContext(connection) as many,
    ):
        assert reminders_notify(batch_size=100) == 7
    assert len(many.captured_queries) == len(few.captured_queries)


def test_reminder_days_are_configurable(django_capture_on_commit_callbacks, sms_outbox, settings):
    settings.LEARNING_REMINDER_DAYS = (10,)
    with time_machine.travel(START, tick=False) as clock:
        open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        sms_outbox.clear()
        clock.move_to(START + timedelta(days=20))
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders_notify() == 1
        clock.move_to(START + timedelta(days=28))
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders_notify() == 0


# --- expiry ---------------------------------------------------------------------------------


def test_expiry_at_day_30_voids_and_blocks_study_and_exam(django_capture_on_commit_callbacks, sms_outbox):
    with time_machine.travel(START, tick=False) as clock:
        enrollment = open_account(
            PaidTraineeFactory(email="void@example.org"), django_capture_on_commit_callbacks
        )
        sms_outbox.clear()
        mail.outbox.clear()
        clock.move_to(START + timedelta(days=29, hours=23))
        assert enrollments_expire() == 0
        enrollment_access_check(enrollment=enrollment, action="study")
        enrollment_access_check(enrollment=enrollment, action="exam")
        clock.move_to(START + timedelta(days=30))
        with django_capture_on_commit_callbacks(execute=True):
            assert enrollments_expire() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert enrollments_expire() == 0  # second run changes nothing
    # The trainee is told once, by SMS (message kind enrollment_expired) and e-mail.
    text = f"{enrollment.trainee.name}，您的{enrollment.programme.name}学习期限已过且未通过考试，学习账号已作废。"
    assert [(m.mobile, m.kind, m.message) for m in sms_outbox] == [
        (enrollment.user.mobile, "enrollment_expired", text)
    ]
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [
        (["void@example.org"], "学习账号作废（已过期限）", text)
    ]
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.EXPIRED
    assert enrollment.expired_at == START + timedelta(days=30)
    access = enrollment_access(enrollment)
    assert not access.can_study and not access.can_sit_exam
    for action in ("study", "exam"):
        with pytest.raises(PermissionDenied):
            enrollment_access_check(enrollment=enrollment, action=action)
    # One audit entry per run, linked to the enrollment through the run id it keeps.
    entry = AuditEntry.objects.get(action=EXPIRY_AUDIT_ACTION)
    assert entry.actor is None and entry.reason
    assert entry.old_value == {"status": ["active"]} and entry.new_value["status"] == "expired"
    assert entry.new_value["run"] == str(enrollment.expiry_run) and entry.new_value["count"] == 1
    assert datetime.datetime.fromisoformat(entry.new_value["expired_at"]) == START + timedelta(days=30)
    history = enrollment_history(enrollment)
    assert [e.action for e in history] == [
        "enrollment.opened",
        "enrollment.welcome_sent",
        EXPIRY_AUDIT_ACTION,
    ]
    assert history[-1] == entry


def test_expiry_leaves_passed_and_future_alone(django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        passed = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        Enrollment.objects.filter(pk=passed.pk).update(status=EnrollmentStatus.PASSED)
        clock.move_to(START + timedelta(days=10))
        later = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        clock.move_to(START + timedelta(days=31))
        assert enrollments_expire() == 0
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"passed", "active"}
    assert later.pk


def test_access_is_blocked_once_the_deadline_passed_even_before_the_job(django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        enrollment = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        clock.move_to(enrollment.deadline + timedelta(seconds=1))
        with pytest.raises(PermissionDenied):
            enrollment_access_check(enrollment=enrollment, action="exam")


def test_expiry_query_count_does_not_grow_with_rows():
    programme = ProgrammeFactory()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(2):
            account_open(trainee_id=PaidTraineeFactory(application__programme=programme).pk)
        clock.move_to(START + timedelta(days=31))
        with CaptureQueriesContext(connection) as few:
            assert enrollments_expire() == 2
        clock.move_to(START)
        for _ in range(12):
            account_open(trainee_id=PaidTraineeFactory(application__programme=programme).pk)
        clock.move_to(START + timedelta(days=31))
        with CaptureQueriesContext(connection) as many:
            assert enrollments_expire() == 12
    assert len(many.captured_queries) == len(few.captured_queries)
    runs = AuditEntry.objects.filter(action=EXPIRY_AUDIT_ACTION).order_by("pk")
    assert [entry.new_value["count"] for entry in runs] == [2, 12]
    for entry in runs:
        tagged = Enrollment.objects.filter(expiry_run=entry.new_value["run"], status=EnrollmentStatus.EXPIRED)
        assert tagged.count() == entry.new_value["count"]


def test_expiry_run_with_nothing_to_void_writes_no_audit_entry():
    assert enrollments_expire() == 0
    assert not AuditEntry.objects.filter(action=EXPIRY_AUDIT_ACTION).exists()


# --- extension --------------------------------------------------------------------------------


def extender():
    from django.contrib.auth.models import Permission

    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="extend_enrollment"))
    return User.objects.get(pk=staff.pk)


def test_extension_moves_the_deadline_and_is_audited(django_capture_on_commit_callbacks):
    actor = extender()
    with time_machine.travel(START, tick=False):
        enrollment = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        enrollment_extend(enrollment=enrollment, days=7, reason="住院", actor=actor)
    enrollment.refresh_from_db()
    assert enrollment.deadline == START + timedelta(days=37)
    assert enrollment.extended_days == 7 and enrollment.last_extension_reason == "住院"
    entry = AuditEntry.objects.get(action="enrollment.extended")
    assert entry.actor == actor and entry.reason == "住院"


def test_extension_reactivates_an_expired_enrollment(django_capture_on_commit_callbacks):
    actor = extender()
    with time_machine.travel(START, tick=False) as clock:
        enrollment = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        clock.move_to(START + timedelta(days=31))
        enrollments_expire()
        enrollment.refresh_from_db()
        enrollment_extend(enrollment=enrollment, days=5, reason="系统故障", actor=actor)
        enrollment.refresh_from_db()
        assert enrollment.status == EnrollmentStatus.ACTIVE
        assert enrollment.deadline == START + timedelta(days=36)
        assert enrollment_access(enrollment).can_study
        clock.move_to(START + timedelta(days=34))
        # the extended deadline gets its own 2-day reminder
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders_notify() == 1


def test_history_keeps_every_expiry_across_extensions(django_capture_on_commit_callbacks):
    actor = extender()
    with time_machine.travel(START, tick=False) as clock:
        enrollment = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        other = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        clock.move_to(START + timedelta(days=31))
        assert enrollments_expire() == 2
        enrollment.refresh_from_db()
        first_run = str(enrollment.expiry_run)
        enrollment_extend(enrollment=enrollment, days=5, reason="系统故障", actor=actor)
        enrollment.refresh_from_db()
        assert enrollment.expiry_run is None and enrollment.expired_at is None
        extended = AuditEntry.objects.get(action="enrollment.extended")
        assert extended.old_value["expiry_run"] == first_run and extended.old_value["status"] == "expired"
        clock.move_to(START + timedelta(days=37))
        assert enrollments_expire() == 1
    enrollment.refresh_from_db()
    history = enrollment_history(enrollment)
    assert [e.action for e in history] == [
        "enrollment.opened",
        "enrollment.welcome_sent",
        EXPIRY_AUDIT_ACTION,
        "enrollment.extended",
        EXPIRY_AUDIT_ACTION,
    ]
    assert [e.new_value["run"] for e in history if e.action == EXPIRY_AUDIT_ACTION] == [
        first_run,
        str(enrollment.expiry_run),
    ]
    # the other trainee shares the first run only, and none of this one's own entries
    other.refresh_from_db()
    assert [e.action for e in enrollment_history(other)] == [
        "enrollment.opened",
        "enrollment.welcome_sent",
        EXPIRY_AUDIT_ACTION,
    ]
    assert enrollment_history(other)[-1].new_value["run"] == first_run


def test_extension_needs_permission_and_a_reason(django_capture_on_commit_callbacks):
    enrollment = open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        enrollment_extend(enrollment=enrollment, days=3, reason="x", actor=StaffFactory())
    with pytest.raises(ValidationError):
        enrollment_extend(enrollment=enrollment, days=3, reason=" ", actor=extender())
    with pytest.raises(ValidationError):
        enrollment_extend(enrollment=enrollment, days=0, reason="x", actor=extender())
    Enrollment.objects.filter(pk=enrollment.pk).update(status=EnrollmentStatus.PASSED)
    with pytest.raises(ValidationError):
        enrollment_extend(enrollment=enrollment, days=3, reason="x", actor=extender())


# --- setting one's password -------------------------------------------------------------------


def test_link_sets_password_once(django_capture_on_commit_callbacks, sms_outbox):
    trainee = PaidTraineeFactory()
    open_account(trainee, django_capture_on_commit_callbacks)
    token = link_token(sms_outbox[0].message)
    user = password_set_by_link(token=token, password="Zhang-San-2026!")
    assert user.check_password("Zhang-San-2026!")
    with pytest.raises(ValidationError):
        password_set_by_link(token=token, password="Another-2026!x")
    assert AuditEntry.objects.filter(action="user.password_set", target_id=str(user.pk)).count() == 1


def test_link_expires_after_72_hours(django_capture_on_commit_callbacks, sms_outbox):
    with time_machine.travel(START, tick=False) as clock:
        open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
        token = link_token(sms_outbox[0].message)
        clock.move_to(START + timedelta(hours=72, seconds=1))
        with pytest.raises(ValidationError):
            password_set_by_link(token=token, password="Zhang-San-2026!")


def test_weak_password_is_refused_and_link_stays_usable(django_capture_on_commit_callbacks, sms_outbox):
    open_account(PaidTraineeFactory(), django_capture_on_commit_callbacks)
    token = link_token(sms_outbox[0].message)
    with pytest.raises(ValidationError):
        password_set_by_link(token=token, password="12345678")
    assert access_code_by_link(token=token) is not None


def test_code_in_the_opening_email_sets_the_password(django_capture_on_commit_callbacks, sms_outbox):
    """The SMS carries the link (a notice template holds no code); the e-mail has the code too."""
    trainee = PaidTraineeFactory(mobile="13800138003", email="code@example.org")
    open_account(trainee, django_capture_on_commit_callbacks)
    assert "/learning/activate/" in sms_outbox[0].message
    code = sms_code(mail.outbox[0].body)
    user = password_set_by_code(mobile="13800138003", code=code, password="Zhang-San-2026!")
    assert user.check_password("Zhang-San-2026!")
    with pytest.raises(ValidationError):
        password_set_by_code(mobile="13800138003", code=code, password="Other-pass-2026!")


def test_requested_code_expires_after_10_minutes(django_capture_on_commit_callbacks, sms_outbox):
    UserFactory(mobile="13800138004")
    with time_machine.travel(START, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            assert access_code_request(mobile="13800138004")
        code = sms_code(sms_outbox[-1].message)
        clock.move_to(START + timedelta(minutes=10, seconds=1))
        with pytest.raises(ValidationError):
            password_set_by_code(mobile="13800138004", code=code, password="Zhang-San-2026!")


def test_code_dies_after_five_wrong_attempts(django_capture_on_commit_callbacks, sms_outbox):
    UserFactory(mobile="13800138005")
    with django_capture_on_commit_callbacks(execute=True):
        access_code_request(mobile="13800138005")
    code = sms_code(sms_outbox[-1].message)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(ValidationError):
            password_set_by_code(mobile="13800138005", code=wrong, password="Zhang-San-2026!")
    with pytest.raises(ValidationError):
        password_set_by_code(mobile="13800138005", code=code, password="Zhang-San-2026!")


def test_new_code_revokes_the_old_one(django_capture_on_commit_callbacks, sms_outbox):
    UserFactory(mobile="13800138006")
    with django_capture_on_commit_callbacks(execute=True):
        access_code_request(mobile="13800138006")
        access_code_request(mobile="13800138006")
    old, new = sms_code(sms_outbox[0].message), sms_code(sms_outbox[1].message)
    if old != new:
        with pytest.raises(ValidationError):
            password_set_by_code(mobile="13800138006", code=old, password="Zhang-San-2026!")
    assert password_set_by_code(mobile="13800138006", code=new, password="Zhang-San-2026!")


def test_code_request_for_unknown_or_staff_number_sends_nothing(
    django_capture_on_commit_callbacks, sms_outbox
):
    StaffFactory(mobile="13800138007")
    with django_capture_on_commit_callbacks(execute=True):
        assert access_code_request(mobile="13800138099") is False
        assert access_code_request(mobile="13800138007") is False
    assert not sms_outbox


@pytest.mark.services("postgres")
@pytest.mark.django_db(transaction=True)
def test_concurrent_account_open_and_jobs_make_one_of_each(sms_outbox):
    """Two workers open the same account and run the reminder job at the same time (PostgreSQL)."""
    import threading

    from django.db import connections

    trainee = PaidTraineeFactory()
    barrier = threading.Barrier(4)
    errors = []

    def worker(fn):
        try:
            barrier.wait(timeout=10)
            fn()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(lambda: account_open(trainee_id=trainee.pk),))]
    threads += [threading.Thread(target=worker, args=(lambda: accounts_sweep(),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert Enrollment.objects.filter(trainee=trainee).count() == 1
    assert len(sms_outbox) == 1

    Enrollment.objects.update(deadline=timezone.now() + timedelta(days=6))
    barrier = threading.Barrier(3)
    threads = [threading.Thread(target=worker, args=(lambda: reminders_notify(),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert EnrollmentReminder.objects.count() == 1
    assert len(sms_outbox) == 2
