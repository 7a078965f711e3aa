"""Retention: documents and personal data are purged RETENTION_DAYS after the training ended."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection

from learning import retention
from learning.models import EnrollmentStatus
from learning.tasks import personal_data_purge
from payments.models import Payment
from payments.services import PROOFS_PURGE_ACTION
from portal.celery import BEAT_SCHEDULE
from portal.models import AuditEntry
from registration.models import Trainee, TraineeStatus
from registration.services import PURGE_ACTION
from tests.payments.factories import PaymentFactory
from tests.registration.factories import CompleteTraineeFactory, ProgrammeFactory, image_bytes

from .factories import EnrollmentFactory

pytestmark = pytest.mark.django_db

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2030, 6, 1, 3, 0, tzinfo=TZ)
LONG_AGO = NOW - datetime.timedelta(days=3 * 365 + 1)
RECENTLY = NOW - datetime.timedelta(days=3 * 365 - 1)


def _trainee(programme, **kwargs):
    return CompleteTraineeFactory(
        application__programme=programme,
        status=kwargs.pop("status", TraineeStatus.APPROVED),
        paid_at=kwargs.pop("paid_at", LONG_AGO - datetime.timedelta(days=40)),
        **kwargs,
    )


def _enrolled(programme, *, status, at):
    trainee = _trainee(programme)
    fields = {"passed_at": at} if status == EnrollmentStatus.PASSED else {"expired_at": at}
    EnrollmentFactory(trainee=trainee, status=status, opened_at=at - datetime.timedelta(days=20), **fields)
    return trainee


def _screenshot():
    return ContentFile(image_bytes(300, 500), name="proof.jpg")


@pytest.fixture
def world():
    programme = ProgrammeFactory()
    w = {
        "passed_long_ago": _enrolled(programme, status=EnrollmentStatus.PASSED, at=LONG_AGO),
        "passed_recently": _enrolled(programme, status=EnrollmentStatus.PASSED, at=RECENTLY),
        "expired_long_ago": _enrolled(programme, status=EnrollmentStatus.EXPIRED, at=LONG_AGO),
        "rejected_long_ago": _trainee(programme, status=TraineeStatus.REJECTED, status_changed_at=LONG_AGO),
        "withdrawn_recently": _trainee(programme, status=TraineeStatus.WITHDRAWN, status_changed_at=RECENTLY),
        "studying": _trainee(programme),
        "approved_never_enrolled": _trainee(programme, status_changed_at=LONG_AGO),
    }
    EnrollmentFactory(trainee=w["studying"], opened_at=LONG_AGO)
    one = w["passed_long_ago"]
    w["proof_alone"] = PaymentFactory(application=one.application, trainees=[one], screenshot=_screenshot())
    w["proof_shared"] = PaymentFactory(
        application=one.application, trainees=[one, w["passed_recently"]], screenshot=_screenshot()
    )
    w["proof_both_finished"] = PaymentFactory(
        application=one.application,
        trainees=[w["expired_long_ago"], w["rejected_long_ago"]],
        screenshot=_screenshot(),
    )
    return w


def _purged(world) -> set[str]:
    ids = set(Trainee.objects.filter(purged_at__isnull=False).values_list("pk", flat=True))
    return {name for name, obj in world.items() if isinstance(obj, Trainee) and obj.pk in ids}


def test_finished_trainees_are_selected(world):
    selected = set(retention.trainees_finished_before(retention.retention_cutoff(now=NOW)))
    assert selected == {world["passed_long_ago"], world["expired_long_ago"], world["rejected_long_ago"]}


def test_purge_job_purges_finished_trainees_their_documents_and_proofs(
    world, django_capture_on_commit_callbacks
):
    storage = world["passed_long_ago"].photo.storage
    gone = [world[name].photo.name for name in ("passed_long_ago", "expired_long_ago", "rejected_long_ago")]
    kept = [world[name].photo.name for name in ("passed_recently", "studying", "approved_never_enrolled")]
    proofs = {
        name: world[name].screenshot.name for name in ("proof_alone", "proof_shared", "proof_both_finished")
    }
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert personal_data_purge.delay().get() == 3
    assert _purged(world) == {"passed_long_ago", "expired_long_ago", "rejected_long_ago"}
    assert not any(storage.exists(name) for name in gone)
    assert all(storage.exists(name) for name in kept)
    purged = Trainee.objects.get(pk=world["passed_long_ago"].pk)
    assert purged.purged_at == NOW and purged.name == world["passed_long_ago"].name
    assert purged.id_number == "" and purged.id_number_masked.count("*") == 10
    # Payment proofs: deleted only once every trainee the payment covers is finished.
    screenshots = dict(Payment.objects.values_list("pk", "screenshot"))
    assert screenshots[world["proof_alone"].pk] == "" and screenshots[world["proof_both_finished"].pk] == ""
    assert screenshots[world["proof_shared"].pk] == proofs["proof_shared"]
    assert not storage.exists(proofs["proof_alone"]) and storage.exists(proofs["proof_shared"])
    # Audited per batch, with the ids.
    entry = AuditEntry.objects.get(action=PURGE_ACTION)
    assert sorted(entry.new_value["trainee_ids"]) == sorted(
        world[name].pk for name in ("passed_long_ago", "expired_long_ago", "rejected_long_ago")
    )
    assert entry.reason == "retention"
    proof_entry = AuditEntry.objects.get(action=PROOFS_PURGE_ACTION)
    assert sorted(proof_entry.new_value["payment_ids"]) == sorted(
        [world["proof_alone"].pk, world["proof_both_finished"].pk]
    )


def test_running_twice_changes_nothing_more(world):
    with time_machine.travel(NOW, tick=False):
        assert retention.personal_data_purge() == 3
        assert retention.personal_data_purge() == 0
    assert AuditEntry.objects.filter(action=PURGE_ACTION).count() == 1
    assert AuditEntry.objects.filter(action=PROOFS_PURGE_ACTION).count() == 1


def test_the_rest_follows_when_its_time_comes(world):
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
    with time_machine.travel(NOW + datetime.timedelta(days=2), tick=False):
        assert retention.personal_data_purge() == 2  # passed_recently, withdrawn_recently
    assert _purged(world) >= {"passed_recently", "withdrawn_recently"}
    assert "studying" not in _purged(world) and "approved_never_enrolled" not in _purged(world)
    # The shared payment's proof goes once its last trainee is purged.
    assert Payment.objects.get(pk=world["proof_shared"].pk).screenshot == ""


def test_retention_days_come_from_the_settings(world, settings):
    settings.RETENTION_DAYS = 10
    with time_machine.travel(NOW, tick=False):
        assert retention.personal_data_purge() == 5


def test_batches_are_set_based(world, settings, django_assert_max_num_queries):
    settings.RETENTION_DAYS = 10
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(40):
        assert retention.personal_data_purge(batch_size=2) == 5
    assert AuditEntry.objects.filter(action=PURGE_ACTION).count() == 3


def test_no_id_number_left_in_purged_rows(world):
    numbers = [world[name].id_number for name in ("passed_long_ago", "expired_long_ago", "rejected_long_ago")]
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registration_trainee WHERE purged_at IS NOT NULL")
        dump = repr(cursor.fetchall())
    assert not any(number in dump or number[6:14] in dump for number in numbers)


def test_beat_runs_the_purge_daily():
    entry = BEAT_SCHEDULE["learning-personal-data-purge"]
    assert entry["task"] == "learning.tasks.personal_data_purge"
