"""PIPL: ID numbers encrypted but still found and unique, separate consents, audited full-ID
views, and the purge service of registration."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import translation

from portal.crypto import personal_hash
from portal.models import AuditEntry
from portal.roles import FINANCE, REVIEWER
from registration.consents import CONSENT_TEXT_VERSION, consent_text
from registration.models import Application, Consent, ConsentGiver, Trainee, TraineeStatus
from registration.services.applications import RosterValidationError, application_submit
from registration.services.attachment2 import trainee_attachment2_submit
from registration.services.personal_data import trainee_set_id_number, trainees_by_id_number
from registration.services.retention import PURGE_ACTION, trainees_purge_personal_data
from registration.validators import id_number_mask
from tests.factories import (
    ALL_CONSENTS,
    ATTACHMENT1_CONSENTS_POST,
    ATTACHMENT2_CONSENTS_POST,
    CompleteTraineeFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
    applicant_data,
    image_bytes,
    roster_rows,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme():
    return ProgrammeFactory()


def _raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# -- encryption at rest, lookups, uniqueness ---------------------------------------------------


def test_submitted_id_numbers_are_ciphertext_in_the_database(programme):
    rows = roster_rows(3)
    application = application_submit(
        programme=programme, applicant=applicant_data(), roster=rows, consents=["id_number"]
    )
    stored = _raw(
        "SELECT id_number, id_number_hash, id_number_masked FROM registration_trainee "
        "WHERE application_id = %s ORDER BY row_number",
        [application.pk],
    )
    dump = repr(stored)
    for row, (token, digest, masked) in zip(rows, stored, strict=True):
        assert row["id_number"] not in dump and row["id_number"][6:14] not in token
        assert digest == personal_hash(row["id_number"])
        assert masked == id_number_mask(row["id_number"])
    trainees = list(application.trainees.order_by("row_number"))
    assert [t.id_number for t in trainees] == [row["id_number"] for row in rows]


def test_lookup_by_id_number_goes_through_the_hash(programme):
    wanted = TraineeFactory(application__programme=programme)
    TraineeFactory(application__programme=programme)
    lower = wanted.id_number[:-1] + wanted.id_number[-1].lower()
    assert list(trainees_by_id_number(lower)) == [wanted]
    assert list(trainees_by_id_number("")) == []


def test_same_person_is_still_found_by_hash_and_saved_only_as_a_duplicate(programme):
    first = application_submit(
        programme=programme, applicant=applicant_data(), roster=roster_rows(1), consents=["id_number"]
    ).trainees.get()
    again = application_submit(
        programme=programme,
        applicant=applicant_data(),
        roster=roster_rows(1, mobile="13700001234"),
        consents=["id_number"],
    ).trainees.get()
    assert again.id_number_hash == first.id_number_hash
    assert (again.is_duplicate, again.duplicate_of, again.duplicate_field) == (True, first, "id_number")
    first.refresh_from_db()
    assert not first.is_duplicate


def test_database_keeps_one_live_registration_per_person_by_hash(programme):
    first = TraineeFactory(application__programme=programme)
    second = TraineeFactory(application__programme=programme)
    trainee_set_id_number(trainee=second, id_number=first.id_number)
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    # Blank hashes (purged rows) never collide.
    Trainee.objects.filter(pk__in=[first.pk, second.pk]).update(id_number_hash="")


def test_admin_search_finds_an_exact_id_number_only(client, programme):
    wanted = TraineeFactory(application__programme=programme, name="欧阳测试")
    TraineeFactory(application__programme=programme)
    client.force_login(StaffFactory(role=REVIEWER))
    url = reverse("admin:registration_trainee_changelist")

    def found(term):
        return list(client.get(url, {"q": term}).context["cl"].result_list)

    assert found(wanted.id_number) == [wanted]
    assert found(f"欧阳 {wanted.id_number.lower()}") == [wanted]
    assert found(wanted.id_number[:-1]) == []
    assert found(wanted.id_number[6:14]) == []
    assert found("欧阳") == [wanted]


# -- consents -------------------------------------------------------------------------------------


def test_unit_submission_records_the_contact_consent_per_trainee(programme):
    with translation.override("en"):
        application = application_submit(
            programme=programme,
            applicant=applicant_data(),
            roster=roster_rows(2),
            consents=["id_number"],
            ip="10.0.0.9",
        )
        expected = consent_text("id_number", given_by=ConsentGiver.CONTACT)
    consents = list(Consent.objects.filter(trainee__application=application))
    assert len(consents) == 2
    for consent in consents:
        assert consent.kind == "id_number" and consent.given_by == ConsentGiver.CONTACT
        assert consent.text == expected and consent.text_version == CONSENT_TEXT_VERSION
        assert consent.ip == "10.0.0.9" and consent.language == "en"
    assert "3 years" in expected and "ID number" in expected


def test_submission_without_the_consent_saves_nothing(programme):
    with translation.override("en"), pytest.raises(RosterValidationError) as excinfo:
        application_submit(programme=programme, applicant=applicant_data(), roster=roster_rows(1))
    assert "consent_id_number" in excinfo.value.applicant_errors
    assert "Tick the box" in excinfo.value.applicant_errors["consent_id_number"][0]
    assert not Application.objects.exists() and not Consent.objects.exists()


def test_attachment2_records_three_separate_consents_with_the_data(programme):
    trainee = TraineeFactory(application__programme=programme)
    data = {
        "education": "bachelor",
        "safety_years": "3",
        "work_unit": "示例公司",
        "work_unit_address": "广州市",
        "mailing_address": "广州市",
        "work_history": "2020- 示例公司",
        "declaration_name": trainee.name,
    }
    files = {
        "photo": upload(),
        "id_front": upload(width=800, height=500),
        "id_back": upload(width=800, height=500),
    }
    with pytest.raises(ValidationError) as excinfo:
        trainee_attachment2_submit(trainee=trainee, data=data, files=files, consents=["id_number", "photo"])
    assert set(excinfo.value.error_dict) == {"consent_id_copy"}
    assert excinfo.value.kept == ["photo", "id_front", "id_back"]  # the valid files are kept all the same
    trainee.refresh_from_db()
    assert trainee.photo and trainee.declared_at is None and not trainee.consents.exists()

    files = {
        "photo": upload(),
        "id_front": upload(width=800, height=500),
        "id_back": upload(width=800, height=500),
    }
    saved = trainee_attachment2_submit(
        trainee=trainee, data=data, files=files, consents=ALL_CONSENTS, ip="10.1.1.1"
    )
    consents = {c.kind: c for c in saved.consents.all()}
    assert set(consents) == {"id_number", "photo", "id_copy"}
    assert len({c.text for c in consents.values()}) == 3
    for kind, consent in consents.items():
        assert consent.text == consent_text(kind) and consent.given_by == ConsentGiver.TRAINEE
        assert consent.given_at == saved.declared_at and consent.ip == "10.1.1.1"
    assert "照片" in consents["photo"].text and "3 年" in consents["photo"].text  # zh-Hans by default


def test_unit_form_shows_the_consent_and_refuses_without_it(client, programme):
    from registration.forms import roster_form_data

    page = client.get(reverse("registration:unit_register")).content.decode()
    checkbox = re.search(r'<input[^>]*name="consent_id_number"[^>]*>', page).group(0)
    assert 'type="checkbox"' in checkbox and "checked" not in checkbox  # never ticked in advance
    post = {k: v for k, v in applicant_data().items() if k != "kind"}
    post.update(roster_form_data(roster_rows(2)))
    post["action"] = "submit"
    response = client.post(reverse("registration:unit_register"), post)
    assert response.status_code == 200
    assert "consent_id_number" in response.context["form"].errors
    summary = " ".join(error["text"] for error in response.context["error_summary"])
    assert "身份证号码" in summary and "勾选" in summary
    assert not Application.objects.exists()
    response = client.post(reverse("registration:unit_register"), {**post, **ATTACHMENT1_CONSENTS_POST})
    assert response.status_code == 302
    assert Consent.objects.filter(given_by=ConsentGiver.CONTACT).count() == 2


def test_individual_and_attachment2_pages_ask_separately(client, programme):
    html = client.get(reverse("registration:individual_register")).content.decode()
    assert 'name="consent_id_number"' in html
    trainee = TraineeFactory(application__programme=programme)
    url = reverse("registration:attachment2", args=[trainee.access_key])
    html = client.get(url).content.decode()
    for name in ATTACHMENT2_CONSENTS_POST:
        assert f'name="{name}"' in html
    post = {
        "education": "bachelor",
        "safety_years": "6",
        "work_unit": "广州示例贸易有限公司",
        "work_unit_address": "广州市天河区示例大道 100 号",
        "mailing_address": "广州市天河区示例大道 100 号",
        "work_history": "2015-2025 广州示例贸易有限公司 安全主任",
        "declaration_name": trainee.name,
        "photo": upload("photo.png", content=image_bytes(354, 496, fmt="PNG"), content_type="image/png"),
        "id_front": upload("front.jpg", content=image_bytes(856, 540)),
        "id_back": upload("back.jpg", content=image_bytes(856, 540)),
        "consent_id_number": "on",
    }
    response = client.post(url, post)
    assert response.status_code == 200
    assert {"consent_photo", "consent_id_copy"} <= set(response.context["form"].errors)
    trainee.refresh_from_db()
    assert trainee.photo and not Consent.objects.exists()  # the file is kept; no consent is recorded


# -- masking and audited full-ID views --------------------------------------------------------------


def test_trainee_facing_pages_mask_the_id_number(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    for url in (
        reverse("registration:attachment2", args=[trainee.access_key]),
        reverse("registration:application_detail", args=[trainee.application.access_key]),
    ):
        html = client.get(url).content.decode()
        assert trainee.id_number not in html and id_number_mask(trainee.id_number) in html


def test_id_card_copies_need_the_full_id_permission_and_are_audited(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    client.force_login(StaffFactory(role=FINANCE))
    assert (
        client.get(reverse("registration:staff_document", args=[trainee.pk, "id_front"])).status_code == 403
    )
    assert client.get(reverse("registration:staff_document", args=[trainee.pk, "photo"])).status_code == 200
    page = client.get(reverse("admin:registration_trainee_change", args=[trainee.pk])).content.decode()
    assert reverse("registration:staff_document", args=[trainee.pk, "id_front"]) not in page
    assert not AuditEntry.objects.filter(action="trainee.view_full_id").exists()

    reviewer = StaffFactory(role=REVIEWER)
    client.force_login(reviewer)
    response = client.get(
        reverse("registration:staff_document", args=[trainee.pk, "id_back"]), REMOTE_ADDR="10.9.8.7"
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="trainee.view_full_id")
    assert entry.actor == reviewer and entry.target_id == str(trainee.pk)
    assert entry.new_value == {"what": "id_back"} and entry.ip_address == "10.9.8.7"
    assert entry.created_at is not None


def test_staff_pdf_is_masked_without_the_permission_and_audited_with_it(client, programme):
    from pypdf import PdfReader

    trainee = CompleteTraineeFactory(application__programme=programme)
    url = reverse("registration:staff_attachment2_print", args=[trainee.pk])

    def text(response):
        import io

        return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)

    client.force_login(StaffFactory(role=FINANCE))
    assert trainee.id_number not in text(client.get(url))
    assert not AuditEntry.objects.filter(action="trainee.view_full_id").exists()
    client.force_login(StaffFactory(role=REVIEWER))
    assert trainee.id_number in text(client.get(url))
    assert AuditEntry.objects.get(action="trainee.view_full_id").new_value == {"what": "attachment2_pdf"}


def test_admin_page_audit_names_every_full_number_shown(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    other = TraineeFactory(application=trainee.application, programme=programme)
    client.force_login(StaffFactory(role=REVIEWER))
    body = client.get(reverse("admin:registration_trainee_change", args=[trainee.pk])).content.decode()
    assert trainee.id_number in body and other.id_number in body
    entry = AuditEntry.objects.get(action="trainee.view_full_id")
    assert entry.new_value == {"what": "admin_trainee_page", "trainee_ids": sorted([trainee.pk, other.pk])}


def test_export_with_full_numbers_records_whose(client, programme):
    trainees = TraineeFactory.create_batch(2, application__programme=programme)
    staff = StaffFactory(role=FINANCE)
    staff.user_permissions.add(Permission.objects.get(codename="view_full_id_number"))
    client.force_login(staff)
    client.get(reverse("admin:registration_trainee_export"))
    entry = AuditEntry.objects.get(action="trainee.exported")
    assert entry.new_value["full_id_numbers"] is True
    assert sorted(entry.new_value["trainee_ids"]) == sorted(t.pk for t in trainees)


# -- purge ------------------------------------------------------------------------------------------


def test_purge_deletes_documents_and_personal_data_keeps_name_and_masked_id(
    programme, django_capture_on_commit_callbacks
):
    trainee = CompleteTraineeFactory(
        application__programme=programme,
        email="me@example.org",
        landline="020-83331234",
        status=TraineeStatus.APPROVED,
    )
    keep = CompleteTraineeFactory(application__programme=programme)
    number, masked = trainee.id_number, id_number_mask(trainee.id_number)
    storage = trainee.photo.storage
    files = [trainee.photo.name, trainee.id_front.name, trainee.id_back.name]
    with django_capture_on_commit_callbacks(execute=True):
        assert trainees_purge_personal_data(trainee_ids=[trainee.pk], reason="retention") == [trainee.pk]
    trainee.refresh_from_db()
    assert trainee.purged_at is not None and trainee.name and trainee.id_number_masked == masked
    assert trainee.id_number == "" and trainee.id_number_hash == "" and trainee.mobile == ""
    assert trainee.email == trainee.landline == trainee.mailing_address == trainee.work_history == ""
    assert trainee.work_unit_address == "" and trainee.birth_date is None and trainee.declared_ip is None
    assert not trainee.photo and not trainee.id_front and not trainee.id_back
    assert not any(storage.exists(name) for name in files)
    assert number not in repr(_raw("SELECT * FROM registration_trainee WHERE id = %s", [trainee.pk]))
    keep.refresh_from_db()
    assert keep.purged_at is None and storage.exists(keep.photo.name)
    entry = AuditEntry.objects.get(action=PURGE_ACTION)
    assert (
        entry.new_value == {"trainee_ids": [trainee.pk], "files_deleted": 3} and entry.reason == "retention"
    )

    # Twice: nothing more to do, no second entry.
    assert trainees_purge_personal_data(trainee_ids=[trainee.pk]) == []
    assert AuditEntry.objects.filter(action=PURGE_ACTION).count() == 1


def test_purge_keeps_a_masked_copy_of_rows_written_without_one(programme, django_assert_max_num_queries):
    trainees = TraineeFactory.create_batch(
        30, application__programme=programme, status=TraineeStatus.APPROVED
    )
    Trainee.objects.filter(pk=trainees[0].pk).update(id_number_masked="")
    with django_assert_max_num_queries(8):  # set-based: the same few queries for 30 rows
        trainees_purge_personal_data(trainee_ids=[t.pk for t in trainees])
    first = Trainee.objects.get(pk=trainees[0].pk)
    assert first.id_number_masked == id_number_mask(trainees[0].id_number)
    # Purged live rows no longer block the mobile or the person.
    assert Trainee.objects.filter(purged_at__isnull=False, status=TraineeStatus.APPROVED).count() == 30
    again = TraineeFactory(application__programme=programme, mobile=trainees[1].mobile)
    trainee_set_id_number(trainee=again, id_number=trainees[1].id_number)
    again.save()


def test_id_numbers_are_never_written_to_the_audit_log(programme):
    rows = roster_rows(2)
    application_submit(programme=programme, applicant=applicant_data(), roster=rows, consents=["id_number"])
    dump = repr(list(AuditEntry.objects.values()))
    assert all(row["id_number"] not in dump for row in rows)
