"""The exam starts only after an identity check (issue #23) when the programme has checks."""

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from exams.models import Attempt
from learning.models import IdentityCheck, IdentityDecision, ProgrammeStudyRule
from tests.factories.faces import face_frames

pytestmark = pytest.mark.django_db


def _photo(client, check_id: int) -> None:
    """The one camera photo an SMS-code exam check also takes (reviewed by staff later)."""
    frame = "data:image/jpeg;base64," + base64.b64encode(face_frames()[0]).decode()
    response = client.post(
        reverse("learning:identity_capture", args=[check_id]),
        {"first": frame},
        content_type="application/json",
    )
    assert response.status_code == 202


@pytest.fixture
def trainee_client(client, enrollment):
    client.force_login(enrollment.user)
    return client


def test_the_paper_opens_only_after_a_passed_check(
    trainee_client, template, enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme, daily_cap_hours=Decimal(8), identity_mode="sms"
    )
    start = reverse("exams:start", args=[enrollment.pk])
    response = trainee_client.post(start)
    assert response.status_code == 302
    assert response.url.startswith(reverse("learning:identity", args=[enrollment.pk]) + "?context=exam")
    assert not Attempt.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        check = trainee_client.post(
            reverse("learning:identity_start", args=[enrollment.pk]) + "?context=exam"
        ).json()
    _photo(trainee_client, check["id"])
    right = trainee_client.post(
        reverse("learning:identity_code", args=[check["id"]]),
        {"code": sms_outbox[-1].params["code"]},
        content_type="application/json",
    )
    assert right.json()["passed"] is True
    response = trainee_client.post(start)
    attempt = Attempt.objects.get()
    assert response.url == reverse("exams:attempt", args=[attempt.pk])
    used = IdentityCheck.objects.get(pk=check["id"])
    assert (used.context, used.decision, used.exam_attempt_id) == (
        "exam",
        IdentityDecision.PASSED,
        attempt.pk,
    )


def test_without_checks_the_exam_starts_at_once(trainee_client, template, enrollment):
    response = trainee_client.post(reverse("exams:start", args=[enrollment.pk]))
    assert response.url == reverse("exams:attempt", args=[Attempt.objects.get().pk])
    assert not IdentityCheck.objects.exists()


def test_a_random_check_during_the_exam(
    trainee_client, template, enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme, daily_cap_hours=Decimal(8), identity_mode="sms"
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            first = trainee_client.post(
                reverse("learning:identity_start", args=[enrollment.pk]) + "?context=exam"
            ).json()
        _photo(trainee_client, first["id"])
        trainee_client.post(
            reverse("learning:identity_code", args=[first["id"]]),
            {"code": sms_outbox[-1].params["code"]},
            content_type="application/json",
        )
        trainee_client.post(reverse("exams:start", args=[enrollment.pk]))
        attempt = Attempt.objects.get()
        state_url = reverse("exams:state", args=[attempt.pk])
        assert "identity_url" not in trainee_client.get(state_url).json()
        clock.shift(timedelta(seconds=attempt.remaining_seconds(timezone.now()) * 7 // 10 + 1))
        asked = trainee_client.get(state_url).json()["identity_url"]
        assert asked.startswith(reverse("learning:identity", args=[enrollment.pk]) + "?context=exam")
        assert f"attempt={attempt.pk}" in asked
        with django_capture_on_commit_callbacks(execute=True):
            second = trainee_client.post(
                reverse("learning:identity_start", args=[enrollment.pk])
                + f"?context=exam&attempt={attempt.pk}"
            ).json()
        assert second["id"] != first["id"]
        _photo(trainee_client, second["id"])
        trainee_client.post(
            reverse("learning:identity_code", args=[second["id"]]),
            {"code": sms_outbox[-1].params["code"]},
            content_type="application/json",
        )
        assert "identity_url" not in trainee_client.get(state_url).json()
    during = IdentityCheck.objects.get(pk=second["id"])
    assert (during.exam_attempt_id, during.decision) == (attempt.pk, IdentityDecision.PASSED)
