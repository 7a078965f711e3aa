import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from portal.models import AuditEntry
from registration.models import Application, Consent, Trainee, TraineeStatus
from registration.services import applications, attachment2
from registration.services.applications import RosterValidationError, application_submit
from registration.services.attachment2 import trainee_attachment2_submit
from registration.services.payment import trainee_mark_paid
from registration.services.review import trainee_approve, trainee_reject, trainee_return, trainee_withdraw
from tests.factories import (
    ALL_CONSENTS,
    CompleteTraineeFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
    applicant_data,
    id_number_make,
    image_bytes,
    mobile_make,
    roster_rows,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme():
    return ProgrammeFactory()


@pytest.fixture
def reviewer():
    return StaffFactory(role="reviewer")


def submit(programme, rows, consents=("id_number",), **applicant):
    return application_submit(
        programme=programme,
        applicant=applicant_data(**applicant),
        roster=rows,
        consents=consents,
        ip="10.0.0.1",
    )


def a2_submit(**kwargs):
    """``trainee_attachment2_submit`` with the three consents ticked unless given."""
    kwargs.setdefault("consents", ALL_CONSENTS)
    return trainee_attachment2_submit(**kwargs)


def roster_error(programme, rows, **applicant) -> RosterValidationError:
    with translation.override("en"), pytest.raises(RosterValidationError) as excinfo:
        submit(programme, rows, **applicant)
    return excinfo.value


# -- application_submit ----------------------------------------------------------------------


def test_submit_saves_application_and_trainees(programme, django_capture_on_commit_callbacks):
    rows = roster_rows(3)
    rows[2]["training_category"] = "再培训"
    rows[2]["previous_certificate_no"] = "粤安培〔2023〕123"
    rows[0]["id_number"] = rows[0]["id_number"].lower()
    with django_capture_on_commit_callbacks(execute=False):
        application = submit(programme, rows)
    assert application.reference.startswith(str(programme.year))
    assert application.submitted_ip == "10.0.0.1"
    trainees = list(application.trainees.order_by("row_number"))
    assert [t.row_number for t in trainees] == [1, 2, 3]
    assert trainees[0].id_number == rows[0]["id_number"].upper()
    assert trainees[2].training_category == "refresher"
    for trainee in trainees:
        assert trainee.status == TraineeStatus.SUBMITTED
        assert trainee.programme == programme
        assert trainee.birth_date == datetime.date(
            int(trainee.id_number[6:10]), int(trainee.id_number[10:12]), int(trainee.id_number[12:14])
        )
        assert trainee.gender == ("M" if int(trainee.id_number[16]) % 2 else "F")
    assert AuditEntry.objects.filter(action="application.submitted", target_id=str(application.pk)).exists()


def test_references_are_unique(programme):
    first = submit(programme, roster_rows(1, start=0))
    second = submit(programme, roster_rows(1, start=1))
    assert first.reference != second.reference


def test_reference_collision_is_retried(programme, monkeypatch):
    taken = submit(programme, roster_rows(1, start=0)).reference
    draws = iter([taken, taken, f"{programme.year}999999"])
    monkeypatch.setattr(applications, "_reference_new", lambda programme: next(draws))
    assert submit(programme, roster_rows(1, start=1)).reference == f"{programme.year}999999"


def test_confirmation_is_sent_on_commit_only(
    programme, settings, sms_outbox, django_capture_on_commit_callbacks
):
    rows = roster_rows(2)
    rows[0]["email"] = "trainee0@example.org"
    rows[1]["training_category"] = "refresher"
    rows[1]["previous_certificate_no"] = "X-1"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        application = submit(programme, rows)
    assert mail.outbox == [] and sms_outbox == []
    assert len(callbacks) == 1
    # The notice task records the messages; they are sent once its transaction commits.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()
    contact_mail = next(m for m in mail.outbox if m.to == ["contact@example.org"])
    link = f"/registration/a/{application.access_key}/"
    assert link in contact_mail.body
    # fee per trainee and total in yuan, from the programme
    assert "800.00" in contact_mail.body and "300.00" in contact_mail.body and "1,100.00" in contact_mail.body
    contact_sms = [s for s in sms_outbox if s.mobile == "13700008888"]
    assert len(contact_sms) == 1 and contact_sms[0].kind == "application_received"
    assert contact_sms[0].message == (
        f"报名{application.reference}已收到，共2人，应缴培训费1,100.00元。报名详情和进度：{settings.PORTAL_SITE_URL}{link}"
    )
    for trainee in application.trainees.all():
        personal = [s for s in sms_outbox if s.mobile == trainee.mobile]
        assert len(personal) == 1 and personal[0].kind == "attachment2_link"
        assert f"/registration/t/{trainee.access_key}/" in personal[0].message
    assert any(m.to == ["trainee0@example.org"] for m in mail.outbox)


def test_confirmation_task_is_idempotent(programme, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = submit(programme, roster_rows(2))
    sent_sms, sent_mail = len(sms_outbox), len(mail.outbox)
    assert sent_sms == 3 and sent_mail == 1
    from registration.tasks import application_submitted_notify

    assert application_submitted_notify(application_id=application.pk) is False
    assert (len(sms_outbox), len(mail.outbox)) == (sent_sms, sent_mail)


def test_no_sms_to_a_landline_contact(programme, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(programme, roster_rows(1), contact_phone="020-83331234")
    assert [s.mobile for s in sms_outbox] == [mobile_make(0)]
    assert len(mail.outbox) == 1


def test_nothing_saved_and_every_error_reported_with_its_row(programme):
    rows = roster_rows(4)
    rows[0]["id_number"] = rows[0]["id_number"][:-1] + ("0" if rows[0]["id_number"][-1] != "0" else "1")
    rows[1]["mobile"] = "12345"
    rows[2]["certificate_type"] = "boss"
    rows[3]["name"] = ""
    error = roster_error(programme, rows, invoice_tax_id="91110000600037341A", industry="E")
    assert Application.objects.count() == 0 and Trainee.objects.count() == 0
    assert set(error.row_errors) == {1, 2, 3, 4}
    assert "id_number" in error.row_errors[1]
    assert "mobile" in error.row_errors[2]
    assert "certificate_type" in error.row_errors[3]
    assert "name" in error.row_errors[4]
    assert {"invoice_tax_id", "industry"} <= set(error.applicant_errors)
    with translation.override("en"):
        assert any(m.startswith("Row 1, ID number:") for m in error.messages)
        assert any(m.startswith("Row 3, certificate type:") for m in error.messages)


def test_duplicate_mobile_within_roster(programme):
    rows = roster_rows(3)
    rows[2]["mobile"] = rows[0]["mobile"]
    error = roster_error(programme, rows)
    assert set(error.row_errors) == {1, 3}
    assert "row 3" in error.row_errors[1]["mobile"][0]
    assert "row 1" in error.row_errors[3]["mobile"][0]


def test_duplicate_person_within_roster(programme):
    rows = roster_rows(2)
    rows[1]["id_number"] = rows[0]["id_number"]
    error = roster_error(programme, rows)
    assert set(error.row_errors) == {1, 2}
    assert "id_number" in error.row_errors[2]


def test_mobile_already_registered_in_programme_is_saved_as_a_duplicate(programme):
    """No error names the row (the unit form tells nobody who is registered): the row is saved,
    flagged as a duplicate of the registration that has the mobile number."""
    holder = submit(programme, roster_rows(1, start=0)).trainees.get()
    rows = roster_rows(2, start=10)
    rows[1]["mobile"] = mobile_make(0)
    first, second = submit(programme, rows).trainees.order_by("row_number")
    assert not first.is_duplicate and first.duplicate_of is None and first.duplicate_field == ""
    assert (second.is_duplicate, second.duplicate_of, second.duplicate_field) == (True, holder, "mobile")
    assert second.status == TraineeStatus.SUBMITTED


def test_same_person_cannot_register_twice_in_a_programme(programme):
    """The second registration is saved, but only as a flagged duplicate, never live."""
    holder = submit(programme, roster_rows(1, start=0)).trainees.get()
    again = submit(programme, roster_rows(1, start=10, id_number=id_number_make(0))).trainees.get()
    assert (again.is_duplicate, again.duplicate_of, again.duplicate_field) == (True, holder, "id_number")
    # A duplicate is not live: a third submission is a duplicate of the holder, not of it.
    third = submit(programme, roster_rows(1, start=20, id_number=id_number_make(0))).trainees.get()
    assert third.duplicate_of == holder
    live = Trainee.objects.filter(id_number_hash=holder.id_number_hash, is_duplicate=False)
    assert list(live) == [holder]


def test_withdrawn_registration_frees_the_person_and_mobile(programme):
    application = submit(programme, roster_rows(1, start=0))
    trainee_withdraw(trainee=application.trainees.get())
    again = submit(programme, roster_rows(1, start=0))
    assert again.trainees.get().status == TraineeStatus.SUBMITTED


def test_other_programme_does_not_conflict(programme):
    submit(programme, roster_rows(1, start=0))
    other = ProgrammeFactory()
    assert submit(other, roster_rows(1, start=0)).trainees.count() == 1


def test_high_risk_industry_is_refused(programme):
    error = roster_error(programme, roster_rows(1), industry="B")
    assert "mining" in error.applicant_errors["industry"][0]


def test_closed_programme_is_refused():
    today = timezone.localdate()
    closed = ProgrammeFactory(
        opens_on=today - datetime.timedelta(days=60), closes_on=today - datetime.timedelta(days=1)
    )
    error = roster_error(closed, roster_rows(1))
    assert "__all__" in error.applicant_errors
    future = ProgrammeFactory(
        opens_on=today + datetime.timedelta(days=1), closes_on=today + datetime.timedelta(days=9)
    )
    assert "__all__" in roster_error(future, roster_rows(1)).applicant_errors


def test_individual_has_exactly_one_trainee(programme):
    error = roster_error(programme, roster_rows(2), kind="individual", invoice_tax_id="")
    assert "roster" in error.applicant_errors
    application = submit(programme, roster_rows(1), kind="individual", invoice_tax_id="")
    assert application.kind == "individual" and application.invoice_tax_id == ""


def test_unit_needs_credit_code(programme):
    error = roster_error(programme, roster_rows(1), invoice_tax_id="")
    assert "invoice_tax_id" in error.applicant_errors


def test_empty_roster_is_refused(programme):
    error = roster_error(programme, [])
    assert "roster" in error.applicant_errors


def test_required_applicant_fields(programme):
    error = roster_error(
        programme, roster_rows(1), unit_name="", invoice_email="not-an-address", mail_phone="abc"
    )
    assert {"unit_name", "invoice_email", "mail_phone"} <= set(error.applicant_errors)


def test_notice_words_accepted_for_types(programme):
    rows = roster_rows(2)
    rows[0].update(certificate_type="主要负责人", training_category="初始培训")
    rows[1].update(
        certificate_type="安全生产管理人员", training_category="再培训", previous_certificate_no="A1"
    )
    application = submit(programme, rows)
    values = list(
        application.trainees.order_by("row_number").values_list("certificate_type", "training_category")
    )
    assert values == [("principal", "initial"), ("safety_manager", "refresher")]


def _queries(programme, count: int, start: int) -> int:
    with CaptureQueriesContext(connection) as context:
        submit(programme, roster_rows(count, start=start))
    return len(context.captured_queries)


def test_query_count_does_not_grow_with_the_roster(programme, django_capture_on_commit_callbacks):
    """Only the trainee and consent INSERTs may be split in batches, as many as the database
    driver needs (SQLite: 999 parameters per statement; PostgreSQL: one statement)."""
    ops = connection.ops

    def batches(model, n):
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        size = ops.bulk_batch_size(fields, [None] * n) or n
        return -(-n // size)

    def inserts(n):
        return batches(Trainee, n) + batches(Consent, n)

    with django_capture_on_commit_callbacks(execute=False):
        small = _queries(programme, 5, start=0)
        large = _queries(programme, 50, start=100)
    assert large - small == inserts(50) - inserts(5)
    if connection.vendor == "postgresql":
        assert large == small


def test_roster_of_500_is_fast_enough(programme, django_capture_on_commit_callbacks):
    import time

    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=False):
        application = submit(programme, roster_rows(500))
    assert time.perf_counter() - started < 5
    assert application.trainees.count() == 500


# -- attachment 2 ------------------------------------------------------------------------------


def attachment2_data(trainee, **overrides):
    data = {
        "education": "bachelor",
        "safety_years": "6",
        "work_unit": "广州示例贸易有限公司",
        "work_unit_address": "广州市天河区示例大道 100 号",
        "mailing_address": "广州市天河区示例大道 100 号",
        "landline": "020-83331234",
        "email": "me@example.org",
        "work_history": "2015 至今 安全主任",
        "declaration_name": trainee.name,
    }
    data.update(overrides)
    return data


def attachment2_files():
    return {
        "photo": upload("photo.png", image_bytes(fmt="PNG"), "image/png"),
        "id_front": upload("front.jpg", image_bytes(800, 500)),
        "id_back": upload("back.jpg", image_bytes(800, 500)),
    }


def test_attachment2_completes_the_registration(programme):
    trainee = TraineeFactory(application__programme=programme)
    saved = a2_submit(
        trainee=trainee, data=attachment2_data(trainee), files=attachment2_files(), ip="10.1.1.1"
    )
    assert saved.attachment2_complete
    assert saved.declared_ip == "10.1.1.1" and saved.declared_at is not None
    assert saved.photo.name.endswith(".jpg") and saved.photo.storage.exists(saved.photo.name)
    assert AuditEntry.objects.filter(
        action="trainee.attachment2_submitted", target_id=str(trainee.pk)
    ).exists()


def test_attachment2_errors_name_the_fields(programme):
    trainee = TraineeFactory(application__programme=programme)
    files = attachment2_files()
    files["photo"] = upload("photo.png", b"<html></html>", "image/png")
    with pytest.raises(ValidationError) as excinfo:
        a2_submit(
            trainee=trainee,
            data=attachment2_data(trainee, declaration_name="别人", safety_years="x", education=""),
            files=files,
        )
    assert {"declaration_name", "safety_years", "education", "photo"} <= set(excinfo.value.error_dict)
    assert excinfo.value.kept == ["id_front", "id_back"]  # one bad upload does not discard the good ones
    trainee.refresh_from_db()
    assert not trainee.photo and trainee.id_front and trainee.declared_at is None


def test_attachment2_files_required_first_time_kept_after(programme):
    trainee = TraineeFactory(application__programme=programme)
    with pytest.raises(ValidationError) as excinfo:
        a2_submit(trainee=trainee, data=attachment2_data(trainee), files={})
    assert set(excinfo.value.error_dict) == {"photo", "id_front", "id_back"}
    saved = a2_submit(trainee=trainee, data=attachment2_data(trainee), files=attachment2_files())
    photo = saved.photo.name
    again = a2_submit(trainee=saved, data=attachment2_data(saved, safety_years="7"), files={"photo": None})
    assert again.photo.name == photo and again.safety_years == 7


def test_replaced_file_deleted_after_commit(programme, django_capture_on_commit_callbacks):
    trainee = CompleteTraineeFactory(application__programme=programme)
    old_name = trainee.photo.name
    storage = trainee.photo.storage
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        saved = a2_submit(
            trainee=trainee, data=attachment2_data(trainee), files={"photo": upload("p.jpg", image_bytes())}
        )
    assert storage.exists(old_name) and storage.exists(saved.photo.name)
    for callback in callbacks:
        callback()
    assert not storage.exists(old_name) and storage.exists(saved.photo.name)


def test_new_files_removed_when_the_save_fails(programme, monkeypatch):
    trainee = TraineeFactory(application__programme=programme)
    storage = Trainee._meta.get_field("photo").storage
    written = []
    real_save = storage._save

    def spy(name, content):
        saved = real_save(name, content)
        written.append(saved)
        return saved

    monkeypatch.setattr(storage, "_save", spy)

    def broken_audit(**kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(attachment2, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        a2_submit(trainee=trainee, data=attachment2_data(trainee), files=attachment2_files())
    assert len(written) == 3
    assert not any(storage.exists(name) for name in written)
    trainee.refresh_from_db()
    assert not trainee.photo


@pytest.mark.parametrize("status", [TraineeStatus.APPROVED, TraineeStatus.REJECTED, TraineeStatus.WITHDRAWN])
def test_attachment2_closed_after_decision(programme, status):
    trainee = CompleteTraineeFactory(application__programme=programme, status=status)
    with pytest.raises(ValidationError) as excinfo:
        a2_submit(trainee=trainee, data=attachment2_data(trainee), files={})
    assert excinfo.value.error_list[0].code == "attachment2_closed"


def test_correcting_a_returned_registration_sends_it_back_to_review(programme, reviewer):
    trainee = CompleteTraineeFactory(application__programme=programme)
    trainee_return(trainee=trainee, reviewer=reviewer, reason="照片不清晰")
    saved = a2_submit(
        trainee=trainee, data=attachment2_data(trainee), files={"photo": upload("p.jpg", image_bytes())}
    )
    assert saved.status == TraineeStatus.SUBMITTED
    entry = AuditEntry.objects.get(action="trainee.resubmitted", target_id=str(trainee.pk))
    assert entry.old_value == {"status": "returned"} and entry.new_value == {"status": "submitted"}
    assert trainee_approve(trainee=saved, reviewer=reviewer).status == TraineeStatus.APPROVED


# -- transitions -------------------------------------------------------------------------------

ALL = list(TraineeStatus.values)
ALLOWED = {
    "approve": {"submitted"},
    "return": {"submitted"},
    "reject": {"submitted", "returned"},
    "withdraw": {"submitted", "returned"},
}
TARGET = {"approve": "approved", "return": "returned", "reject": "rejected", "withdraw": "withdrawn"}


def run(decision, trainee, reviewer, reason="资料不全"):
    if decision == "approve":
        return trainee_approve(trainee=trainee, reviewer=reviewer, ip="10.2.2.2")
    if decision == "return":
        return trainee_return(trainee=trainee, reviewer=reviewer, reason=reason, ip="10.2.2.2")
    if decision == "reject":
        return trainee_reject(trainee=trainee, reviewer=reviewer, reason=reason, ip="10.2.2.2")
    return trainee_withdraw(trainee=trainee, ip="10.2.2.2")


@pytest.mark.parametrize("decision", list(ALLOWED))
@pytest.mark.parametrize("status", ALL)
def test_transitions(decision, status, reviewer, programme):
    trainee = CompleteTraineeFactory(application__programme=programme, status=status)
    if status in ALLOWED[decision]:
        result = run(decision, trainee, reviewer)
        assert result.status == TARGET[decision]
        trainee.refresh_from_db()
        assert trainee.status == TARGET[decision]
        entry = AuditEntry.objects.get(action=f"trainee.{TARGET[decision]}", target_id=str(trainee.pk))
        assert entry.old_value == {"status": status} and entry.new_value == {"status": TARGET[decision]}
        assert entry.ip_address == "10.2.2.2"
        if decision != "withdraw":
            assert trainee.reviewed_by == reviewer and entry.actor == reviewer
        if decision in ("return", "reject"):
            assert entry.reason == "资料不全" and trainee.status_reason == "资料不全"
    else:
        with pytest.raises(ValidationError) as excinfo:
            run(decision, trainee, reviewer)
        assert excinfo.value.error_list[0].code == "transition_refused"
        trainee.refresh_from_db()
        assert trainee.status == status
        assert not AuditEntry.objects.filter(target_id=str(trainee.pk)).exists()


def test_approve_requires_complete_attachment2(reviewer, programme):
    trainee = TraineeFactory(application__programme=programme)
    with pytest.raises(ValidationError) as excinfo:
        trainee_approve(trainee=trainee, reviewer=reviewer)
    assert excinfo.value.error_list[0].code == "attachment2_incomplete"
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_reason_required(decision, reviewer, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    with pytest.raises(ValidationError) as excinfo:
        run(decision, trainee, reviewer, reason="  ")
    assert excinfo.value.error_list[0].code == "reason_required"


def test_decision_notices_on_commit_only(reviewer, programme, sms_outbox, django_capture_on_commit_callbacks):
    trainee = CompleteTraineeFactory(application__programme=programme, email="t@example.org")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        trainee_return(trainee=trainee, reviewer=reviewer, reason="身份证复印件模糊")
    assert sms_outbox == [] and mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    assert {s.mobile for s in sms_outbox} == {trainee.mobile, trainee.application.contact_phone}
    assert all("身份证复印件模糊" in s.message for s in sms_outbox)
    personal = next(s for s in sms_outbox if s.mobile == trainee.mobile)
    assert f"/registration/t/{trainee.access_key}/" in personal.message
    assert {tuple(m.to) for m in mail.outbox} == {("t@example.org",), ("contact@example.org",)}


@pytest.mark.parametrize(
    ("decide", "contact_kind", "personal_kind", "contact_text", "personal_text"),
    [
        (
            lambda t, r: trainee_approve(trainee=t, reviewer=r),
            "registration_approved_contact",
            "registration_approved",
            "{name}（{reference}）的报名已审核通过，应缴培训费{fee}元，缴费方式：{site}/registration/a/{akey}/",
            "{name}，您报名的{programme}已审核通过，缴费后将为您开通学习账号。",
        ),
        (
            lambda t, r: trainee_return(trainee=t, reviewer=r, reason="照片模糊"),
            "registration_returned_contact",
            "registration_returned",
            "{name}（{reference}）的报名被退回修改，原因：照片模糊。学员修改地址：{site}/registration/t/{tkey}/",
            "{name}，您的报名被退回修改，原因：照片模糊。请打开{site}/registration/t/{tkey}/ 修改信息采集表。",
        ),
        (
            lambda t, r: trainee_reject(trainee=t, reviewer=r, reason="不符合条件"),
            "registration_rejected_contact",
            "registration_rejected",
            "{name}（{reference}）的报名未通过审核，原因：不符合条件。",
            "{name}，您报名的{programme}未通过审核，原因：不符合条件。",
        ),
        (
            lambda t, r: trainee_withdraw(trainee=t, actor=r),
            "registration_withdrawn_contact",
            "registration_withdrawn",
            "{name}（{reference}）的报名已撤回。",
            "{name}，您报名的{programme}已撤回。",
        ),
    ],
    ids=["approved", "returned", "rejected", "withdrawn"],
)
def test_each_decision_is_told_by_its_message_kinds(
    reviewer,
    programme,
    settings,
    sms_outbox,
    django_capture_on_commit_callbacks,
    decide,
    contact_kind,
    personal_kind,
    contact_text,
    personal_text,
):
    settings.PORTAL_SITE_URL = "https://training.example.org"
    trainee = CompleteTraineeFactory(application__programme=programme, email="t@example.org")
    application = trainee.application
    with django_capture_on_commit_callbacks(execute=True):
        decide(trainee, reviewer)
    values = {
        "name": trainee.name,
        "reference": application.reference,
        "programme": programme.name,
        "fee": f"{trainee.fee_fen // 100:,}.{trainee.fee_fen % 100:02d}",
        "site": "https://training.example.org",
        "akey": application.access_key,
        "tkey": trainee.access_key,
    }
    assert sorted((s.mobile, s.kind, s.message) for s in sms_outbox) == sorted(
        [
            (application.contact_phone, contact_kind, contact_text.format(**values)),
            (trainee.mobile, personal_kind, personal_text.format(**values)),
        ]
    )
    assert {tuple(m.to) for m in mail.outbox} == {("t@example.org",), (application.contact_email,)}


def test_decision_notice_sent_once(reviewer, programme, sms_outbox, django_capture_on_commit_callbacks):
    trainee = CompleteTraineeFactory(application__programme=programme)
    with django_capture_on_commit_callbacks(execute=True):
        trainee_approve(trainee=trainee, reviewer=reviewer)
    count = len(sms_outbox)
    assert count == 2
    entry = AuditEntry.objects.get(action="trainee.approved")
    from registration.tasks import trainee_status_notify

    assert trainee_status_notify(trainee_id=trainee.pk, audit_entry_id=entry.pk) is False
    assert len(sms_outbox) == count


def test_decision_notice_follows_the_notice_policy(
    reviewer, programme, monkeypatch, django_capture_on_commit_callbacks
):
    """Each message of the notice is recorded (linked to the trainee or the application) and sent
    on its own: a gateway refusing the SMS fails those messages only, raises nothing, and the
    e-mails still go."""
    from portal.messaging.backends import LocmemSmsBackend, PermanentSmsError
    from portal.models import OutboundMessage

    def refuse(self, *, mobile, kind, params, reference=""):
        raise PermanentSmsError("refused", code="isv.TEST")

    monkeypatch.setattr(LocmemSmsBackend, "send_template", refuse)
    trainee = CompleteTraineeFactory(application__programme=programme, email="t@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        trainee_approve(trainee=trainee, reviewer=reviewer)
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.APPROVED
    entry = AuditEntry.objects.get(action="trainee.approved")
    key = f"registration:trainee:{trainee.pk}:audit:{entry.pk}"
    rows = OutboundMessage.objects.order_by("event").values_list("event", "status", "about_id")
    application_id, trainee_id = str(trainee.application_id), str(trainee.pk)
    assert list(rows) == [
        (f"{key}:contact:email", "sent", application_id),
        (f"{key}:contact:sms", "failed", application_id),
        (f"{key}:trainee:{trainee.pk}:email", "sent", trainee_id),
        (f"{key}:trainee:{trainee.pk}:sms", "failed", trainee_id),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == ["contact@example.org", "t@example.org"]


def test_refused_transition_sends_nothing(
    reviewer, programme, sms_outbox, django_capture_on_commit_callbacks
):
    trainee = CompleteTraineeFactory(application__programme=programme, status=TraineeStatus.REJECTED)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        trainee_approve(trainee=trainee, reviewer=reviewer)
    assert sms_outbox == [] and mail.outbox == []


def test_mark_paid_still_requires_approval(reviewer, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    with pytest.raises(ValidationError):
        trainee_mark_paid(trainee=trainee)
    trainee_approve(trainee=trainee, reviewer=reviewer)
    assert trainee_mark_paid(trainee=trainee).paid_at is not None


def test_race_with_a_concurrent_registration_flags_the_row_not_crashes(programme, monkeypatch):
    """The check ran before someone else saved the same person: the database constraint catches
    it, the rows are checked again and the row is saved as a duplicate like any other."""
    holder = submit(programme, roster_rows(1, start=0)).trainees.get()
    real = applications._programme_conflicts
    calls = []

    def first_check_misses(programme, rows):
        calls.append(1)
        return real(programme, rows) if len(calls) > 1 else []

    monkeypatch.setattr(applications, "_programme_conflicts", first_check_misses)
    application = submit(programme, roster_rows(2, start=0))
    assert len(calls) == 2
    first, second = application.trainees.order_by("row_number")
    assert (first.is_duplicate, first.duplicate_of) == (True, holder)
    assert not second.is_duplicate
    assert Application.objects.count() == 2 and Trainee.objects.count() == 3


def test_race_without_disclosure_is_refused_quietly(
    programme, monkeypatch, sms_outbox, django_capture_on_commit_callbacks
):
    """The public individual form's service: a registration saved in the meantime makes the
    database refuse the row; the answer is the quiet refusal, not an error naming the person."""
    first = submit(programme, roster_rows(1, start=0)).trainees.get()
    real = applications._programme_conflicts
    calls = []

    def first_check_misses(programme, rows):
        calls.append(1)
        return real(programme, rows) if len(calls) > 1 else []

    monkeypatch.setattr(applications, "_programme_conflicts", first_check_misses)
    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = applications.application_submit_or_notify(
            programme=programme,
            applicant=applicant_data(kind="individual", invoice_tax_id=""),
            roster=roster_rows(1, start=0, mobile=mobile_make(9876)),
            consents=("id_number",),
            ip="10.0.0.9",
        )
    assert result is None and len(calls) == 2
    assert Application.objects.count() == 1 and Trainee.objects.count() == 1
    entry = AuditEntry.objects.get(action="registration.duplicate_refused")
    assert entry.target_id == str(first.pk) and entry.new_value == {"field": "id_number"}
    assert [s.mobile for s in sms_outbox] == [first.mobile]


def test_row_message_in_chinese(programme):
    rows = roster_rows(3)
    rows[2]["mobile"] = "12345"
    with pytest.raises(RosterValidationError) as excinfo:
        submit(programme, rows)
    assert excinfo.value.messages == ["第 3 行，手机号码：请输入 11 位中国大陆手机号，例如 13812345678。"]


@pytest.mark.services("postgres")
@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_on_one_trainee_one_wins():
    """Two reviewers decide at the same moment: the row lock lets one through, the other is refused."""
    import threading

    from django.db import connections

    programme = ProgrammeFactory()
    trainee = CompleteTraineeFactory(application__programme=programme)
    reviewers = [StaffFactory(role="reviewer"), StaffFactory(role="reviewer")]
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(index):
        try:
            barrier.wait()
            if index == 0:
                trainee_approve(trainee=trainee, reviewer=reviewers[0])
            else:
                trainee_reject(trainee=trainee, reviewer=reviewers[1], reason="重复报名")
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    trainee.refresh_from_db()
    decisions = AuditEntry.objects.filter(
        target_id=str(trainee.pk), action__in=["trainee.approved", "trainee.rejected"]
    )
    assert decisions.count() == 1 and decisions.get().new_value == {"status": trainee.status}


def test_individual_gets_each_decision_once(
    reviewer, programme, sms_outbox, django_capture_on_commit_callbacks
):
    trainee = CompleteTraineeFactory(
        application__programme=programme,
        application__kind="individual",
        application__contact_phone=mobile_make(4321),
        application__contact_email="me@example.org",
        mobile=mobile_make(4321),
        email="me@example.org",
    )
    with django_capture_on_commit_callbacks(execute=True):
        trainee_approve(trainee=trainee, reviewer=reviewer)
    assert [s.mobile for s in sms_outbox] == [mobile_make(4321)]
    assert len(mail.outbox) == 1
