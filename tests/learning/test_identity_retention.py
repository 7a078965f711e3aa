"""Identity-check snapshots are deleted by the retention job (issue #23): with the training record
(RETENTION_DAYS after the training ended) or sooner (PORTAL_IDENTITY_SNAPSHOT_RETENTION_DAYS)."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.files.base import ContentFile

from learning.models import EnrollmentStatus, IdentityCheck
from learning.retention import personal_data_purge
from learning.services.identity import SNAPSHOTS_PURGE_ACTION
from portal.models import AuditEntry
from tests.factories import EnrollmentFactory
from tests.factories.faces import face_frames

pytestmark = pytest.mark.django_db

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2030, 6, 1, 3, 0, tzinfo=TZ)
LONG_AGO = NOW - datetime.timedelta(days=3 * 365 + 1)
RECENTLY = NOW - datetime.timedelta(days=100)


def _check(*, status, ended_at, taken_at):
    fields = {"passed_at": ended_at} if status == EnrollmentStatus.PASSED else {}
    enrollment = EnrollmentFactory(
        status=status, opened_at=ended_at - datetime.timedelta(days=20), trainee__paid_at=ended_at, **fields
    )
    check = IdentityCheck(
        enrollment=enrollment, context="study", method="face", requested_at=taken_at, captured_at=taken_at
    )
    first, second = face_frames()
    check.snapshot.save("first.jpg", ContentFile(first), save=False)
    check.snapshot_second.save("second.jpg", ContentFile(second), save=False)
    check.decision = "passed"
    check.distance = 0.2
    check.save()
    return check


def test_snapshots_go_with_the_training_record(django_capture_on_commit_callbacks):
    old = _check(status=EnrollmentStatus.PASSED, ended_at=LONG_AGO, taken_at=LONG_AGO)
    recent = _check(status=EnrollmentStatus.PASSED, ended_at=RECENTLY, taken_at=RECENTLY)
    names = [old.snapshot.name, old.snapshot_second.name]
    storage = old.snapshot.storage
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        personal_data_purge()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.snapshot.name, old.snapshot_second.name) == ("", "")
    assert old.snapshots_deleted_at is not None and old.distance == 0.2  # the record stays
    assert not any(storage.exists(name) for name in names)
    assert recent.snapshot and storage.exists(recent.snapshot.name)
    entry = AuditEntry.objects.get(action=SNAPSHOTS_PURGE_ACTION)
    assert (entry.new_value, entry.reason) == ({"check_ids": [old.pk]}, "retention")
    with time_machine.travel(NOW, tick=False):
        personal_data_purge()
    assert AuditEntry.objects.filter(action=SNAPSHOTS_PURGE_ACTION).count() == 1  # idempotent


def test_a_shorter_snapshot_retention(settings, django_capture_on_commit_callbacks):
    settings.PORTAL_IDENTITY_SNAPSHOT_RETENTION_DAYS = 30
    studying = _check(
        status=EnrollmentStatus.ACTIVE, ended_at=NOW, taken_at=NOW - datetime.timedelta(days=31)
    )
    fresh = _check(status=EnrollmentStatus.ACTIVE, ended_at=NOW, taken_at=NOW - datetime.timedelta(days=29))
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        personal_data_purge()
    studying.refresh_from_db()
    fresh.refresh_from_db()
    assert not studying.snapshot and studying.snapshots_deleted_at is not None
    assert fresh.snapshot and fresh.snapshots_deleted_at is None
    assert AuditEntry.objects.get(action=SNAPSHOTS_PURGE_ACTION).reason == "snapshot_retention"
