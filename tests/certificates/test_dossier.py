"""一人一档 (issue #23): one trainee's whole record in one PDF, on demand and in bulk (zip).

The state is built through the apps' own services: attachment 2 with photo and consents, study
credited by staff entries, an offline check-in, an exam sat and graded, the certificate issued."""

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from pypdf import PdfReader

from certificates.dossier import trainee_dossier
from certificates.models import DossierRun, PrintRunStatus
from certificates.services.dossier import dossier_pdf_for, dossier_run_create, dossier_run_produce
from exams import services as exam_services
from learning.services.offline import offline_checkin_record
from portal.models import AuditEntry
from portal.roles import INSPECTOR, REVIEWER
from registration.models import FULL_ID_PERMISSION
from registration.services.personal_data import FULL_ID_VIEW_ACTION, consents_record
from registration.validators import id_number_mask
from tests.exams.helpers import answers_scoring
from tests.factories import (
    ALL_CONSENTS,
    EnrollmentFactory,
    OfflineSessionFactory,
    StaffFactory,
    association_make,
    bank_make,
    image_bytes,
    studied_enrollment_make,
    template_make,
)

pytestmark = pytest.mark.django_db


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _full_record(django_capture_on_commit_callbacks, **trainee):
    """A trainee with attachment 2, consents, study, an offline check-in, an exam passed and the
    certificate issued (by the task queued on passing)."""
    association_make()
    bank_make()
    template_make()
    fields = {f"trainee__{key}": value for key, value in trainee.items()}
    enrollment = studied_enrollment_make(
        trainee__photo=ContentFile(image_bytes(width=295, height=413), name="photo.jpg"),
        trainee__declaration_name=trainee.get("name", "张档案"),
        **fields,
    )
    consents_record(trainees=[enrollment.trainee], kinds=ALL_CONSENTS, given_by="trainee")
    session = OfflineSessionFactory(programme=enrollment.programme, title="线下面授课", place="培训中心")
    offline_checkin_record(session=session, user=enrollment.user)
    attempt = exam_services.attempt_start(enrollment=enrollment)
    with django_capture_on_commit_callbacks(execute=True):
        exam_services.attempt_submit(
            attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=1)
        )
    enrollment.refresh_from_db()
    return enrollment, attempt


def test_the_file_has_every_section_with_a_fixed_number_of_queries(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    enrollment, attempt = _full_record(django_capture_on_commit_callbacks, name="张档案")
    trainee = enrollment.trainee
    # trainee, consents, enrollment, the study overview (4), record lines, check-ins, attempts,
    # their questions, certificate: the same for any number of lines, attempts or questions
    with django_assert_num_queries(12):
        dossier = trainee_dossier(trainee.pk)
    assert dossier.certificate is not None and dossier.certificate.number
    assert len(dossier.attempts) == 1 and len(dossier.attempts[0].items) == attempt.items.count() > 0
    assert len(dossier.checkins) == 1 and len(dossier.consents) == len(ALL_CONSENTS)
    assert dossier.records

    inspector = StaffFactory(role=INSPECTOR)  # may not see full ID numbers
    text = _pdf_text(dossier_pdf_for(trainee=trainee, actor=inspector))
    for heading in ("一人一档", "张档案", "线下面授课", "培训中心", dossier.certificate.number):
        assert heading in text
    first = dossier.attempts[0].items[0]
    assert first.stem[:10] in text.replace("\n", "")
    assert id_number_mask(trainee.id_number) in text and trainee.id_number not in text
    reader = PdfReader(io.BytesIO(dossier_pdf_for(trainee=trainee, actor=inspector)))
    assert len(reader.pages[0].images) == 1  # the photo, at the top of the first page


def test_full_id_only_with_the_permission_and_audited():
    enrollment = EnrollmentFactory()
    trainee = enrollment.trainee
    masked_viewer = StaffFactory(role=INSPECTOR)
    assert not masked_viewer.has_perm(FULL_ID_PERMISSION)
    text = _pdf_text(dossier_pdf_for(trainee=trainee, actor=masked_viewer, ip="10.0.0.1"))
    assert trainee.id_number not in text and id_number_mask(trainee.id_number) in text
    entry = AuditEntry.objects.get(action="dossier.viewed", actor=masked_viewer)
    assert entry.target_id == str(trainee.pk) and entry.new_value == {"full_id_number": False}
    assert not AuditEntry.objects.filter(action=FULL_ID_VIEW_ACTION).exists()

    full_viewer = StaffFactory(role=REVIEWER)  # reviewers may see full ID numbers
    assert full_viewer.has_perm(FULL_ID_PERMISSION)
    text = _pdf_text(dossier_pdf_for(trainee=trainee, actor=full_viewer))
    assert trainee.id_number in text
    assert AuditEntry.objects.get(action=FULL_ID_VIEW_ACTION, actor=full_viewer).new_value == {
        "what": "dossier_pdf"
    }


def test_staff_without_the_permission_are_refused(client):
    trainee = EnrollmentFactory().trainee
    client.force_login(StaffFactory(role="finance"))
    response = client.get(reverse("admin:certificates_dossierrun_trainee", args=[trainee.pk]))
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="dossier.viewed").exists()


def test_admin_download_from_the_trainee_page(client):
    trainee = EnrollmentFactory().trainee
    reviewer = StaffFactory(role=REVIEWER)
    client.force_login(reviewer)
    page = client.get(reverse("admin:registration_trainee_change", args=[trainee.pk]))
    url = reverse("admin:certificates_dossierrun_trainee", args=[trainee.pk])
    assert url in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert trainee.name in _pdf_text(response.content)
    assert AuditEntry.objects.filter(action="dossier.viewed", actor=reviewer).count() == 1


def test_bulk_zip_has_one_pdf_per_trainee_with_progress_and_runs_twice_safely(
    client, django_capture_on_commit_callbacks
):
    first = EnrollmentFactory(trainee__name="甲一")
    programme = first.programme
    others = [
        EnrollmentFactory(trainee__name=name, trainee__programme=programme, programme=programme)
        for name in ("乙二", "丙三")
    ]
    EnrollmentFactory(trainee__name="别的项目")  # another programme: not in the zip
    reviewer = StaffFactory(role=REVIEWER)
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:certificates_dossierrun_add"), {"programme": programme.pk})
    run = DossierRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:certificates_dossierrun_change", args=[run.pk]
    )
    status = client.get(reverse("admin:certificates_dossierrun_status", args=[run.pk])).json()
    assert (status["status"], status["done"], status["total"], status["percent"]) == ("done", 3, 3, 100)
    page = client.get(response["Location"]).content.decode()
    assert (
        "certificates/print_run.js" in page
        and reverse("admin:certificates_dossierrun_zip", args=[run.pk]) in page
    )

    download = client.get(reverse("admin:certificates_dossierrun_zip", args=[run.pk]))
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    names = sorted(archive.namelist())
    expected = sorted(f"dossier-{programme.pk}-{e.trainee.pk}.pdf" for e in [first, *others])
    assert names == expected
    texts = {name: _pdf_text(archive.read(name)) for name in names}
    assert "甲一" in texts[f"dossier-{programme.pk}-{first.trainee.pk}.pdf"]
    assert not any("别的项目" in text for text in texts.values())
    assert AuditEntry.objects.filter(action="dossier_run.downloaded", actor=reviewer).count() == 1

    run.refresh_from_db()
    stored, finished = run.archive.name, run.finished_at
    again = dossier_run_produce(dossier_run_id=run.pk)  # delivered twice: nothing happens
    assert (again.status, again.archive.name, again.finished_at) == (PrintRunStatus.DONE, stored, finished)


def test_bulk_run_of_a_programme_without_trainees_is_refused():
    from django.core.exceptions import ValidationError

    from tests.factories import ProgrammeFactory

    with pytest.raises(ValidationError):
        dossier_run_create(programme=ProgrammeFactory(), actor=StaffFactory(role=REVIEWER))
    assert not DossierRun.objects.exists()


def test_progress_moves_chunk_by_chunk(monkeypatch, django_capture_on_commit_callbacks):
    from certificates.services import dossier as service

    monkeypatch.setattr(service, "CHUNK_SIZE", 1)
    first = EnrollmentFactory()
    EnrollmentFactory(trainee__programme=first.programme, programme=first.programme)
    seen = []
    real = service.dossier_pdf

    def recording(dossier):
        seen.append(DossierRun.objects.get().done)
        return real(dossier)

    monkeypatch.setattr(service, "dossier_pdf", recording)
    with django_capture_on_commit_callbacks(execute=True):
        dossier_run_create(programme=first.programme, actor=StaffFactory(role=REVIEWER))
    assert seen == [0, 1]
    assert DossierRun.objects.get().status == PrintRunStatus.DONE


def test_the_sweep_restarts_a_lost_run_and_leaves_a_running_one_alone():
    import datetime

    from django.utils import timezone

    from certificates.services.dossier import dossier_runs_requeue_stale

    enrollment = EnrollmentFactory()
    staff = StaffFactory(role=REVIEWER)
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    lost = DossierRun.objects.create(
        programme=enrollment.programme,
        requested_by=staff,
        trainee_ids=[enrollment.trainee_id],
        total=1,
        created_at=long_ago,
    )
    busy = DossierRun.objects.create(
        programme=enrollment.programme,
        requested_by=staff,
        trainee_ids=[enrollment.trainee_id],
        total=1,
        status=PrintRunStatus.RUNNING,
        started_at=timezone.now(),
    )
    assert dossier_runs_requeue_stale() == 1  # the Celery task runs eagerly in the tests
    lost.refresh_from_db()
    busy.refresh_from_db()
    assert lost.status == PrintRunStatus.DONE and lost.archive
    assert busy.status == PrintRunStatus.RUNNING and not busy.archive
    assert dossier_run_produce(dossier_run_id=busy.pk).status == PrintRunStatus.RUNNING
