"""The read-only inspector role (issue #23): sees the trainees' records and files, nothing else, and
every admin page or file an inspector opens is audited."""

import pytest
from django.contrib import admin
from django.urls import reverse

from certificates.models import DossierRun
from learning.models import OfflineSession
from portal.inspector import INSPECTOR_VIEW_ACTION
from portal.models import AuditEntry
from portal.roles import INSPECTOR, INSPECTOR_PERMISSIONS, REVIEWER, is_inspector
from tests.factories import (
    AttemptFactory,
    CertificateFactory,
    OfflineSessionFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

# The records an inspector reads (admin model names).
RECORDS = [
    "registration.trainee",
    "learning.enrollment",
    "learning.studyrecord",
    "learning.offlinesession",
    "exams.attempt",
    "certificates.certificate",
    "certificates.dossierrun",
]


@pytest.fixture
def world():
    certificate = CertificateFactory()
    enrollment = certificate.enrollment
    AttemptFactory(enrollment=enrollment)
    OfflineSessionFactory(programme=enrollment.programme)
    staff = StaffFactory(role=REVIEWER)
    run = DossierRun.objects.create(
        programme=enrollment.programme, requested_by=staff, trainee_ids=[enrollment.trainee_id], total=1
    )
    return {"enrollment": enrollment, "certificate": certificate, "run": run}


@pytest.fixture
def inspector(client):
    user = StaffFactory(role=INSPECTOR)
    client.force_login(user)
    return user


def _objects(world):
    enrollment = world["enrollment"]
    return {
        "registration.trainee": enrollment.trainee,
        "learning.enrollment": enrollment,
        "learning.offlinesession": OfflineSession.objects.get(programme=enrollment.programme),
        "exams.attempt": enrollment.exam_attempts.first(),
        "certificates.certificate": world["certificate"],
        "certificates.dossierrun": world["run"],
    }


def _url(label: str, view: str, *args) -> str:
    app_label, model = label.split(".")
    return reverse(f"admin:{app_label}_{model}_{view}", args=args)


def test_the_group_has_view_permissions_only():
    user = StaffFactory(role=INSPECTOR)
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in user.groups.get().permissions.all()}
    assert granted == {perm for perms in INSPECTOR_PERMISSIONS.values() for perm in perms}
    assert not [perm for perm in granted if perm.split(".")[1].startswith(("add_", "change_", "delete_"))]
    assert is_inspector(user) and not is_inspector(StaffFactory(role=REVIEWER))
    assert not is_inspector(StaffFactory(is_superuser=True))


def test_inspector_reads_every_record_and_each_view_is_audited(client, inspector, world):
    for label in RECORDS:
        before = AuditEntry.objects.filter(action=INSPECTOR_VIEW_ACTION, actor=inspector).count()
        response = client.get(_url(label, "changelist"), follow=True)  # trainees: a default filter
        assert response.status_code == 200, label
        assert AuditEntry.objects.filter(action=INSPECTOR_VIEW_ACTION, actor=inspector).count() == before + 1
    for label, obj in _objects(world).items():
        response = client.get(_url(label, "change", obj.pk))
        assert response.status_code == 200, label
        entry = AuditEntry.objects.filter(action=INSPECTOR_VIEW_ACTION, actor=inspector).latest("pk")
        assert entry.target_id == str(obj.pk) and entry.new_value["path"] == _url(label, "change", obj.pk)


def test_inspector_changes_nothing(client, inspector, world):
    objects = _objects(world)
    for label in RECORDS:
        assert client.get(_url(label, "add")).status_code == 403, label
        assert client.post(_url(label, "add"), {}).status_code == 403, label
    for label, obj in objects.items():
        assert client.post(_url(label, "change", obj.pk), {}).status_code == 403, label
        assert client.get(_url(label, "delete", obj.pk)).status_code == 403, label
        assert client.post(_url(label, "delete", obj.pk), {"post": "yes"}).status_code == 403, label
    trainee = world["enrollment"].trainee
    trainee.refresh_from_db()
    assert trainee.pk and world["enrollment"].__class__.objects.filter(pk=world["enrollment"].pk).exists()


def test_inspector_sees_nothing_outside_the_records(client, inspector, world):
    enrollment = world["enrollment"]
    assert (
        client.get(reverse("admin:learning_enrollment_record_hours", args=[enrollment.pk])).status_code == 403
    )
    assert client.get(reverse("admin:learning_offlinesession_import", args=[1])).status_code == 403
    for model_admin in admin.site._registry.values():
        opts = model_admin.model._meta
        if opts.label_lower in RECORDS or opts.label_lower == "learning.pipelinedashboard":
            continue
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 403, opts.label_lower


def test_inspector_downloads_the_file_masked_and_audited(client, inspector, world):
    trainee = world["enrollment"].trainee
    response = client.get(reverse("admin:certificates_dossierrun_trainee", args=[trainee.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert AuditEntry.objects.get(action="dossier.viewed", actor=inspector).new_value == {
        "full_id_number": False
    }
    assert (
        AuditEntry.objects.filter(
            action=INSPECTOR_VIEW_ACTION, actor=inspector, target_id=str(trainee.pk)
        ).count()
        == 0
    )
    entry = AuditEntry.objects.filter(action=INSPECTOR_VIEW_ACTION, actor=inspector).latest("pk")
    assert entry.new_value["view"] == "admin:certificates_dossierrun_trainee"


def test_inspector_photo_view_is_audited_and_progress_polls_are_not(client, inspector, world):
    from django.core.files.base import ContentFile

    from tests.factories import image_bytes

    trainee = world["enrollment"].trainee
    trainee.photo.save("photo.jpg", ContentFile(image_bytes()), save=True)
    response = client.get(reverse("registration:staff_document", args=[trainee.pk, "photo"]))
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action=INSPECTOR_VIEW_ACTION, actor=inspector).latest("pk")
    assert entry.new_value["view"] == "registration:staff_document"
    before = AuditEntry.objects.filter(action=INSPECTOR_VIEW_ACTION).count()
    status = client.get(reverse("admin:certificates_dossierrun_status", args=[world["run"].pk]))
    assert status.status_code == 200
    assert AuditEntry.objects.filter(action=INSPECTOR_VIEW_ACTION).count() == before
