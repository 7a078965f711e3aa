"""The identity-check page and its JSON endpoints (issue #23), as identity.js uses them."""

import base64
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from learning.models import IdentityCheck, IdentityDecision, IdentityMethod, ProgrammeStudyRule
from registration.models import Consent, ConsentKind
from tests.factories import EnrollmentFactory
from tests.factories.faces import face_frames, face_photo_bytes, other_frames

pytestmark = pytest.mark.django_db


def _data_url(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


@pytest.fixture
def enrollment():
    enrollment = EnrollmentFactory()
    enrollment.trainee.photo.save("photo.jpg", ContentFile(face_photo_bytes()), save=True)
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme, daily_cap_hours=Decimal(8), identity_mode="face"
    )
    return enrollment


@pytest.fixture
def trainee(client, enrollment):
    client.force_login(enrollment.user)
    return client


def test_the_page_asks_the_choice_with_the_consent_text_first(trainee, enrollment):
    url = reverse("learning:identity", args=[enrollment.pk])
    html = trainee.get(url).content.decode()
    assert "data-choose-face" in html and "data-choose-sms" in html and 'id="identity"' not in html
    response = trainee.post(url, {"method": "face", "next": "/learning/"})
    assert response.status_code == 302
    assert Consent.objects.filter(trainee=enrollment.trainee, kind=ConsentKind.FACE_RECOGNITION).count() == 1
    html = trainee.get(url).content.decode()
    assert 'id="identity-video"' in html and "learning/identity.js" in html and "data-choose-face" not in html


def test_capture_compare_and_poll(trainee, enrollment, django_capture_on_commit_callbacks):
    trainee.post(reverse("learning:identity", args=[enrollment.pk]), {"method": "face"})
    started = trainee.post(
        reverse("learning:identity_start", args=[enrollment.pk]), content_type="application/json"
    )
    assert started.status_code == 200 and started.json()["method"] == IdentityMethod.FACE
    check_id = started.json()["id"]
    first, second = face_frames()
    with django_capture_on_commit_callbacks(execute=True):
        captured = trainee.post(
            reverse("learning:identity_capture", args=[check_id]),
            {"first": _data_url(first), "second": _data_url(second)},
            content_type="application/json",
        )
    assert captured.status_code == 202
    status = trainee.get(reverse("learning:identity_status", args=[check_id])).json()
    assert (status["decision"], status["passed"], status["waiting"]) == ("passed", True, False)


def test_a_failed_check_says_why(trainee, enrollment, django_capture_on_commit_callbacks):
    trainee.post(reverse("learning:identity", args=[enrollment.pk]), {"method": "face"})
    check_id = trainee.post(reverse("learning:identity_start", args=[enrollment.pk])).json()["id"]
    first, second = other_frames()
    with django_capture_on_commit_callbacks(execute=True):
        trainee.post(
            reverse("learning:identity_capture", args=[check_id]),
            {"first": _data_url(first), "second": _data_url(second)},
            content_type="application/json",
        )
    status = trainee.get(reverse("learning:identity_status", args=[check_id])).json()
    assert status["decision"] == IdentityDecision.FAILED and status["message"]


def test_a_bad_frame_is_refused_without_storing_anything(trainee, enrollment):
    trainee.post(reverse("learning:identity", args=[enrollment.pk]), {"method": "face"})
    check_id = trainee.post(reverse("learning:identity_start", args=[enrollment.pk])).json()["id"]
    response = trainee.post(
        reverse("learning:identity_capture", args=[check_id]),
        {"first": "data:image/jpeg;base64,not-base64!", "second": _data_url(b"<svg/>")},
        content_type="application/json",
    )
    assert response.status_code == 400
    check = IdentityCheck.objects.get(pk=check_id)
    assert check.captured_at is None and not check.snapshot


def test_the_sms_alternative_over_json(trainee, enrollment, sms_outbox, django_capture_on_commit_callbacks):
    trainee.post(reverse("learning:identity", args=[enrollment.pk]), {"method": "sms_code"})
    with django_capture_on_commit_callbacks(execute=True):
        check_id = trainee.post(reverse("learning:identity_start", args=[enrollment.pk])).json()["id"]
    code = sms_outbox[-1].params["code"]
    wrong = trainee.post(
        reverse("learning:identity_code", args=[check_id]),
        {"code": "999999" if code != "999999" else "888888"},
        content_type="application/json",
    )
    assert wrong.status_code == 409 and wrong.json()["code"] == "identity_wrong_code"
    right = trainee.post(
        reverse("learning:identity_code", args=[check_id]), {"code": code}, content_type="application/json"
    )
    assert right.status_code == 200 and right.json()["passed"] is True


def test_no_page_without_checks(trainee, enrollment):
    ProgrammeStudyRule.objects.filter(programme=enrollment.programme).update(identity_mode="none")
    assert trainee.get(reverse("learning:identity", args=[enrollment.pk])).status_code == 404
