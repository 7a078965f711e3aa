"""Retention: documents and personal data are purged RETENTION_DAYS after the training ended:
the trainee row, payment proofs and payer details, the application's contact details, the study
account and the certificate's copy of the mailing address."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse

from certificates.models import Certificate
from learning import retention
from learning.models import EnrollmentStatus
from learning.tasks import personal_data_purge
from payments.models import Invoice, Payment
from payments.services.retention import PROOFS_PURGE_ACTION
from portal.celery import BEAT_SCHEDULE
from portal.models import AuditEntry, User
from registration.models import Application, Trainee, TraineeStatus
from registration.services.retention import APPLICATION_PURGE_ACTION, PURGE_ACTION
from tests.factories import (
    CertificateFactory,
    CompleteTraineeFactory,
    EnrollmentFactory,
    PaymentFactory,
    ProgrammeFactory,
    UserFactory,
    image_bytes,
)

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


FINISHED_LONG_AGO = ("passed_long_ago", "expired_long_ago", "rejected_long_ago", "approved_never_paid")


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
        "approved_never_paid": _trainee(programme, status_changed_at=LONG_AGO, paid_at=None),
        "paid_awaiting_account": _trainee(
            programme, status_changed_at=LONG_AGO, paid_at=NOW - datetime.timedelta(days=1)
        ),
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
    assert selected == {
        world["passed_long_ago"],
        world["expired_long_ago"],
        world["rejected_long_ago"],
        world["approved_never_paid"],
    }


def test_purge_job_purges_finished_trainees_their_documents_and_proofs(
    world, django_capture_on_commit_callbacks
):
    storage = world["passed_long_ago"].photo.storage
    gone = [world[name].photo.name for name in FINISHED_LONG_AGO]
    kept = [world[name].photo.name for name in ("passed_recently", "studying", "paid_awaiting_account")]
    proofs = {
        name: world[name].screenshot.name for name in ("proof_alone", "proof_shared", "proof_both_finished")
    }
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert personal_data_purge.delay().get() == 4
    assert _purged(world) == set(FINISHED_LONG_AGO)
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
    assert sorted(entry.new_value["trainee_ids"]) == sorted(world[name].pk for name in FINISHED_LONG_AGO)
    assert entry.reason == "retention"
    proof_entry = AuditEntry.objects.get(action=PROOFS_PURGE_ACTION)
    assert sorted(proof_entry.new_value["payment_ids"]) == sorted(
        [world["proof_alone"].pk, world["proof_both_finished"].pk]
    )


def test_running_twice_changes_nothing_more(world):
    with time_machine.travel(NOW, tick=False):
        assert retention.personal_data_purge() == 4
        assert retention.personal_data_purge() == 0
    assert AuditEntry.objects.filter(action=PURGE_ACTION).count() == 1
    assert AuditEntry.objects.filter(action=PROOFS_PURGE_ACTION).count() == 1


def test_the_rest_follows_when_its_time_comes(world):
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
    with time_machine.travel(NOW + datetime.timedelta(days=2), tick=False):
        assert retention.personal_data_purge() == 2  # passed_recently, withdrawn_recently
    assert _purged(world) >= {"passed_recently", "withdrawn_recently"}
    assert "studying" not in _purged(world) and "paid_awaiting_account" not in _purged(world)
    # The shared payment's proof goes once its last trainee is purged.
    assert Payment.objects.get(pk=world["proof_shared"].pk).screenshot == ""


def test_retention_days_come_from_the_settings(world, settings):
    settings.RETENTION_DAYS = 10
    with time_machine.travel(NOW, tick=False):
        assert retention.personal_data_purge() == 6


def test_batches_are_set_based(world, settings):
    """A batch costs the same few queries whatever its size: six trainees in one batch, then
    (rolled back and run again) in three batches of two."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    settings.RETENTION_DAYS = 10
    with time_machine.travel(NOW, tick=False):
        with transaction.atomic(), CaptureQueriesContext(connection) as one_batch:
            assert retention.personal_data_purge(batch_size=6) == 6
            transaction.set_rollback(True)
        with CaptureQueriesContext(connection) as three_batches:
            assert retention.personal_data_purge(batch_size=2) == 6
    assert len(one_batch) <= 40, len(one_batch)  # a few per step (see the module), none per trainee
    assert len(three_batches) <= 3 * len(one_batch), (len(three_batches), len(one_batch))
    assert AuditEntry.objects.filter(action=PURGE_ACTION).count() == 3


def test_no_id_number_left_in_purged_rows(world):
    numbers = [world[name].id_number for name in FINISHED_LONG_AGO]
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registration_trainee WHERE purged_at IS NOT NULL")
        dump = repr(cursor.fetchall())
    assert not any(number in dump or number[6:14] in dump for number in numbers)


def test_beat_runs_the_purge_daily():
    entry = BEAT_SCHEDULE["learning-personal-data-purge"]
    assert entry["task"] == "learning.tasks.personal_data_purge"


def test_payer_mobile_and_invoice_email_go_with_the_proof(world):
    payment = world["proof_alone"]
    Payment.objects.filter(pk=payment.pk).update(payer_mobile="13912345678")
    Invoice.objects.create(payment=payment, buyer_name="示例公司", email="finance@unit.example")
    shared = world["proof_shared"]
    Payment.objects.filter(pk=shared.pk).update(payer_mobile="13987654321")
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
    payment.refresh_from_db()
    assert payment.payer_mobile == "" and payment.invoice.email == ""
    assert payment.payer_name and payment.transaction_no and payment.invoice.buyer_name == "示例公司"
    assert Payment.objects.get(pk=shared.pk).payer_mobile == "13987654321"  # covers someone in retention


def test_application_contact_details_go_when_all_its_trainees_are_purged(world):
    alone = world["expired_long_ago"].application
    shared = world["passed_long_ago"].application
    Trainee.objects.filter(pk=world["passed_recently"].pk).update(application=shared)
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
    alone.refresh_from_db()
    assert alone.purged_at == NOW
    assert (alone.contact_name, alone.contact_phone, alone.contact_email) == ("", "", "")
    assert (alone.mail_recipient, alone.mail_phone, alone.mail_address, alone.invoice_email) == (
        "",
        "",
        "",
        "",
    )
    assert alone.unit_name and alone.invoice_title and alone.reference  # the unit's record stays
    kept = Application.objects.get(pk=shared.pk)
    assert kept.purged_at is None and kept.contact_phone and kept.mail_address
    entry = AuditEntry.objects.get(action=APPLICATION_PURGE_ACTION)
    assert (
        alone.pk in entry.new_value["application_ids"] and shared.pk not in entry.new_value["application_ids"]
    )
    with time_machine.travel(NOW + datetime.timedelta(days=2), tick=False):
        retention.personal_data_purge()
    assert Application.objects.get(pk=shared.pk).contact_phone == ""


def test_study_account_is_closed_and_frees_the_mobile(world, client):
    passed = world["passed_long_ago"]
    user = passed.enrollment.user
    user.set_password("old-password-1")
    user.save()
    mobile = user.mobile
    login = {"username": mobile, "password": "old-password-1"}
    assert client.post(reverse("portal:login"), login).status_code == 302
    client.logout()
    # the same person trained again recently under the same account: that account stays
    returning = world["expired_long_ago"].enrollment.user
    again = _trainee(ProgrammeFactory(), mobile=returning.mobile)  # the next year's refresher
    EnrollmentFactory(trainee=again, user=returning, opened_at=RECENTLY)
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
        retention.personal_data_purge()
    user.refresh_from_db()
    assert user.mobile == f"x{user.pk:010d}" and user.email == ""
    assert not user.is_active and not user.has_usable_password()
    refused = client.post(reverse("portal:login"), login)
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert not User.objects.filter(mobile=mobile).exists()
    assert UserFactory(mobile=mobile).pk != user.pk  # the number can open a new account
    returning.refresh_from_db()
    assert returning.is_active and returning.mobile.startswith("1")
    assert AuditEntry.objects.filter(action=retention.ACCOUNTS_PURGE_ACTION).count() == 1


def test_certificate_keeps_its_record_but_not_the_mailing_address(world):
    certificate = CertificateFactory(
        enrollment=world["passed_long_ago"].enrollment, tracking_number="SF1234567890"
    )
    recent = CertificateFactory(enrollment=world["passed_recently"].enrollment)
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
    certificate.refresh_from_db()
    assert (certificate.mail_recipient, certificate.mail_phone, certificate.mail_address) == ("", "", "")
    assert certificate.number and certificate.holder_name and certificate.tracking_number == "SF1234567890"
    assert Certificate.objects.get(pk=recent.pk).mail_address


def test_personal_values_in_the_audit_log_are_redacted_the_entries_stay(world):
    from portal.services import REDACTED, audit_record

    passed, recent = world["passed_long_ago"], world["passed_recently"]
    user = passed.enrollment.user
    edit = audit_record(
        actor=None,
        action="admin.change",
        target=passed,
        old={"mobile": "13900000001", "mailing_address": "旧地址", "status": "submitted"},
        new={"mobile": "13900000002", "mailing_address": "新地址", "status": "approved"},
    )
    account = audit_record(actor=None, action="admin.change", target=user, old={"email": "a@b.cn"}, new={})
    assert user.mobile in account.target_repr
    application = audit_record(
        actor=None, action="admin.change", target=world["expired_long_ago"].application,
        old={"contact_phone": "13900000003", "unit_name": "旧单位"}, new={"contact_phone": "", "unit_name": "新单位"},
    )  # fmt: skip
    untouched = audit_record(actor=None, action="admin.change", target=recent, old={"mobile": "13900000004"})
    with time_machine.travel(NOW, tick=False):
        retention.personal_data_purge()
    for entry in (edit, account, application, untouched):
        entry.refresh_from_db()
    assert edit.old_value == {"mobile": REDACTED, "mailing_address": REDACTED, "status": "submitted"}
    assert edit.new_value == {"mobile": REDACTED, "mailing_address": REDACTED, "status": "approved"}
    assert account.old_value == {"email": REDACTED} and user.mobile not in account.target_repr
    assert application.old_value == {"contact_phone": REDACTED, "unit_name": "旧单位"}
    assert application.new_value == {"contact_phone": "", "unit_name": "新单位"}  # nothing to hide
    assert untouched.old_value == {"mobile": "13900000004"}
