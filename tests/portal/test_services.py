import pytest
from django.contrib.contenttypes.models import ContentType

from portal import services
from portal.models import AuditEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_audit_record_keeps_who_what_old_new_and_address():
    actor = UserFactory(name="审核员")
    target = UserFactory()
    entry = services.audit_record(
        actor=actor,
        action="user.renamed",
        target=target,
        old={"name": "a"},
        new={"name": "b"},
        reason="typo",
        ip="10.0.0.7",
    )
    entry.refresh_from_db()
    assert entry.actor == actor and entry.actor_repr == str(actor)
    assert entry.target_type == ContentType.objects.get_for_model(target)
    assert entry.target_id == str(target.pk)
    assert (entry.old_value, entry.new_value) == ({"name": "a"}, {"name": "b"})
    assert entry.ip_address == "10.0.0.7" and entry.reason == "typo"


def test_audit_entry_keeps_actor_name_after_user_deleted():
    actor = UserFactory(name="离职员工")
    entry = services.audit_record(actor=actor, action="x")
    actor.delete()
    entry.refresh_from_db()
    assert entry.actor is None and "离职员工" in entry.actor_repr


def test_worker_ping_queued_on_commit_and_recorded_once(django_capture_on_commit_callbacks):
    actor = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        token = services.worker_ping_request(actor=actor, ip="127.0.0.1")
    # Nothing ran before the commit.
    assert not AuditEntry.objects.filter(action=services.WORKER_PING_ACTION).exists()
    assert len(callbacks) == 1
    callbacks[0]()  # the commit happens: the eager task runs
    assert AuditEntry.objects.filter(action=services.WORKER_PING_ACTION, new_value__token=token).count() == 1
    # Running the task again for the same token records nothing twice.
    assert services.worker_ping_record(token=token, requested_by_id=actor.pk) is False
    assert AuditEntry.objects.filter(action=services.WORKER_PING_ACTION).count() == 1


def test_login_logs_older_than_the_retention_are_deleted(settings, client):
    import datetime

    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.urls import reverse
    from django.utils import timezone

    from portal.celery import BEAT_SCHEDULE

    settings.LOGIN_LOG_RETENTION_DAYS = 180
    user = UserFactory(mobile="13912340001")
    user.set_password("right-password-1")
    user.save()
    login = reverse("portal:login")
    client.post(login, {"username": user.mobile, "password": "wrong-password"})  # counted by axes
    client.post(login, {"username": user.mobile, "password": "right-password-1"})  # logged by axes
    assert AccessLog.objects.filter(username=user.mobile).exists()
    old = timezone.now() - datetime.timedelta(days=181)
    AccessLog.objects.create(username="13912340002", ip_address="10.0.0.2", user_agent="x")
    AccessFailureLog.objects.create(username="13912340003", ip_address="10.0.0.3", user_agent="x")
    AccessAttempt.objects.create(
        username="13912340004", ip_address="10.0.0.4", user_agent="x", failures_since_start=2
    )
    for model in (AccessLog, AccessFailureLog, AccessAttempt):  # attempt_time is set on creation
        model.objects.filter(username__in=["13912340002", "13912340003", "13912340004"]).update(
            attempt_time=old
        )

    assert services.login_logs_purge() == {"access_logs": 1, "failure_logs": 1, "attempts": 1}
    assert services.login_logs_purge() == {"access_logs": 0, "failure_logs": 0, "attempts": 0}
    assert list(AccessLog.objects.values_list("username", flat=True)) == [user.mobile]  # the recent one stays
    entry = AuditEntry.objects.get(action=services.LOGIN_LOGS_PURGE_ACTION)
    assert entry.new_value == {"access_logs": 1, "failure_logs": 1, "attempts": 1}
    assert BEAT_SCHEDULE["portal-login-logs-purge"]["task"] == "portal.tasks.login_logs_purge"
