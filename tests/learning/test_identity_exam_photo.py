"""The staff-reviewed photo at the exam (issue #23, point 2): a trainee checked by SMS code gives the
code and one camera photo at the exam check; the exam opens on the code, the certificate waits for
staff to approve the photo, a rejection annuls the pass (with the reason, told to the trainee) and
leaves a resit if attempts remain. Face-comparison trainees are unaffected."""

import base64
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse

from certificates.models import Certificate
from exams.models import Attempt
from exams.services import attempt_submit
from learning.models import (
    EnrollmentStatus,
    IdentityCheck,
    IdentityDecision,
    IdentityMethod,
    IdentityPreference,
    PhotoReview,
    ProgrammeStudyRule,
)
from learning.selectors.identity import identity_exam_photo_held, identity_review_queue
from learning.services import identity
from portal.models import AuditEntry, OutboundMessage
from tests.exams.helpers import answers_scoring
from tests.factories import StaffFactory, bank_make, studied_enrollment_make, template_make
from tests.factories.certificates import association_make
from tests.factories.faces import face_frames, face_photo_bytes

pytestmark = pytest.mark.django_db


def _data_url(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


@pytest.fixture
def template(db):
    bank_make()
    return template_make()


def _enrollment(mode: str):
    association_make()
    enrollment = studied_enrollment_make(
        trainee__certificate_type="principal", trainee__training_category="initial"
    )
    enrollment.trainee.photo.save("photo.jpg", ContentFile(face_photo_bytes()), save=True)
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme, daily_cap_hours=Decimal(8), identity_mode=mode
    )
    return enrollment


@pytest.fixture
def sms_enrollment(template):
    return _enrollment("sms")


@pytest.fixture
def trainee(client, sms_enrollment):
    client.force_login(sms_enrollment.user)
    return client


def _check_start(client, enrollment, capture) -> int:
    with capture(execute=True):
        body = client.post(reverse("learning:identity_start", args=[enrollment.pk]) + "?context=exam").json()
    return body["id"]


def _photo(client, check_id):
    return client.post(
        reverse("learning:identity_capture", args=[check_id]),
        {"first": _data_url(face_frames()[0])},
        content_type="application/json",
    )


def _code(client, check_id, code):
    return client.post(
        reverse("learning:identity_code", args=[check_id]), {"code": code}, content_type="application/json"
    )


def _sit_and_pass(client, enrollment, sms_outbox, capture) -> Attempt:
    """The exam check (photo + code), the exam started and passed (the pass signal runs)."""
    check_id = _check_start(client, enrollment, capture)
    assert _photo(client, check_id).status_code == 202
    assert _code(client, check_id, sms_outbox[-1].params["code"]).json()["passed"] is True
    client.post(reverse("exams:start", args=[enrollment.pk]))
    attempt = Attempt.objects.filter(enrollment=enrollment).latest("number")
    with capture(execute=True):
        attempt = attempt_submit(
            attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt)
        )
    assert attempt.passed
    return attempt


def _exam_check(enrollment) -> IdentityCheck:
    return IdentityCheck.objects.filter(enrollment=enrollment, context="exam").latest("pk")


def test_sms_exam_check_needs_the_photo_and_the_code_then_the_exam_starts(
    trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    check_id = _check_start(trainee, sms_enrollment, django_capture_on_commit_callbacks)
    code = sms_outbox[-1].params["code"]
    refused = _code(trainee, check_id, code)
    assert (refused.status_code, refused.json()["code"]) == (409, "identity_photo")
    assert IdentityCheck.objects.get(pk=check_id).decision == IdentityDecision.PENDING
    # The paper does not open yet.
    assert trainee.post(reverse("exams:start", args=[sms_enrollment.pk])).url.startswith(
        reverse("learning:identity", args=[sms_enrollment.pk])
    )
    # Two frames are not needed (one is enough) and nothing compares it.
    taken = _photo(trainee, check_id)
    assert taken.status_code == 202 and taken.json()["photo"] is True
    passed = _code(trainee, check_id, code).json()
    assert passed["passed"] is True
    check = IdentityCheck.objects.get(pk=check_id)
    assert (check.method, check.decision, check.photo_review) == (
        IdentityMethod.SMS_CODE,
        IdentityDecision.PASSED,
        PhotoReview.WAITING,
    )
    assert check.snapshot.name.startswith("learning/identity/") and not check.snapshot_second
    assert check.distance is None and check.compared_at is None
    # Staff are not online: the exam starts on the code.
    response = trainee.post(reverse("exams:start", args=[sms_enrollment.pk]))
    attempt = Attempt.objects.get(enrollment=sms_enrollment)
    assert response.url == reverse("exams:attempt", args=[attempt.pk])
    assert list(identity_review_queue()) == [check]


def test_a_photo_for_a_study_check_is_refused(
    trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        check = identity.identity_check_request(enrollment=sms_enrollment, context="study")
    assert _photo(trainee, check.pk).status_code == 409
    assert _code(trainee, check.pk, sms_outbox[-1].params["code"]).json()["passed"] is True
    check.refresh_from_db()
    assert check.photo_review == PhotoReview.NONE and not check.snapshot


def test_certificate_waits_for_the_approval_and_is_issued_once(
    trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    _sit_and_pass(trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks)
    sms_enrollment.refresh_from_db()
    assert sms_enrollment.status == EnrollmentStatus.PASSED
    assert not Certificate.objects.filter(enrollment=sms_enrollment).exists()
    assert identity_exam_photo_held([sms_enrollment.pk]) == {sms_enrollment.pk}
    page = trainee.get(reverse("learning:enrollment_detail", args=[sms_enrollment.pk])).content.decode()
    assert "data-exam-photo-waiting" in page

    reviewer = StaffFactory(role="reviewer")
    check = _exam_check(sms_enrollment)
    with django_capture_on_commit_callbacks(execute=True):
        identity.identity_check_review(check=check, reviewer=reviewer, approve=True)
    assert Certificate.objects.filter(enrollment=sms_enrollment).count() == 1
    check.refresh_from_db()
    assert (check.photo_review, check.reviewed_by) == (PhotoReview.APPROVED, reviewer)
    assert AuditEntry.objects.filter(action="identity.check_reviewed", target_id=str(check.pk)).count() == 1
    # Approving twice is refused, and issuing again changes nothing.
    with pytest.raises(ValidationError) as excinfo:
        identity.identity_check_review(check=check, reviewer=reviewer, approve=True)
    assert excinfo.value.code == "identity_not_review"
    from certificates.tasks import issue

    assert issue(enrollment_id=sms_enrollment.pk) == []
    assert Certificate.objects.filter(enrollment=sms_enrollment).count() == 1


def test_rejection_annuls_the_pass_with_the_reason_and_a_resit_is_possible(
    trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    attempt = _sit_and_pass(trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks)
    check = _exam_check(sms_enrollment)
    reviewer = StaffFactory(role="reviewer")
    with pytest.raises(ValidationError):
        identity.identity_check_review(check=check, reviewer=reviewer, approve=False, reason="")
    with django_capture_on_commit_callbacks(execute=True):
        identity.identity_check_review(
            check=check, reviewer=reviewer, approve=False, reason="照片与报名照片不是同一人"
        )
    attempt.refresh_from_db()
    sms_enrollment.refresh_from_db()
    assert attempt.passed is False
    assert (sms_enrollment.status, sms_enrollment.passed_at) == (EnrollmentStatus.ACTIVE, None)
    assert not Certificate.objects.filter(enrollment=sms_enrollment).exists()
    assert AuditEntry.objects.filter(action="exams.attempt_annulled", target_id=str(attempt.pk)).exists()
    assert AuditEntry.objects.filter(action="enrollment.pass_annulled").count() == 1
    # Told by SMS (its own kind) and in the personal centre.
    (record,) = OutboundMessage.objects.filter(kind="exam_pass_annulled")
    assert "照片与报名照片不是同一人" in sms_outbox[-1].message
    page = trainee.get(reverse("learning:enrollment_detail", args=[sms_enrollment.pk])).content.decode()
    assert "data-exam-annulled" in page and "照片与报名照片不是同一人" in page
    # The resit (the template allows one): a new check, a new pass awaiting review.
    resit = _sit_and_pass(trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks)
    assert resit.number == 2
    assert not Certificate.objects.filter(enrollment=sms_enrollment).exists()
    assert _exam_check(sms_enrollment).photo_review == PhotoReview.WAITING


def test_the_review_queue_in_admin_shows_the_exam_photo(
    client, trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    _sit_and_pass(trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks)
    check = _exam_check(sms_enrollment)
    reviewer = StaffFactory(role="reviewer")
    client.force_login(reviewer)
    listed = client.get(reverse("admin:learning_identitycheck_changelist") + "?review=waiting")
    assert list(listed.context["cl"].result_list) == [check]
    page = client.get(reverse("admin:learning_identitycheck_change", args=[check.pk])).content.decode()
    for which in ("photo", "first"):
        assert reverse("admin:learning_identitycheck_image", args=[check.pk, which]) in page
    assert reverse("admin:learning_identitycheck_review", args=[check.pk]) in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:learning_identitycheck_review", args=[check.pk]), {"decision": "approve"})
    assert Certificate.objects.filter(enrollment=sms_enrollment).count() == 1


def test_face_trainees_are_unaffected(client, template, django_capture_on_commit_callbacks):
    enrollment = _enrollment("face")
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    check = identity.identity_check_request(enrollment=enrollment, context="exam")
    first, second = face_frames()
    with django_capture_on_commit_callbacks(execute=True):
        identity.identity_snapshot_submit(check=check, user_id=enrollment.user_id, first=first, second=second)
    check.refresh_from_db()
    assert (check.decision, check.photo_review) == (IdentityDecision.PASSED, PhotoReview.NONE)
    client.force_login(enrollment.user)
    client.post(reverse("exams:start", args=[enrollment.pk]))
    attempt = Attempt.objects.get(enrollment=enrollment)
    with django_capture_on_commit_callbacks(execute=True):
        attempt_submit(attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt))
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1
    assert identity_review_queue().count() == 0


def test_the_enrollment_page_links_to_the_method_choice(client, template):
    enrollment = _enrollment("face")
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.SMS_CODE)
    client.force_login(enrollment.user)
    page = client.get(reverse("learning:enrollment_detail", args=[enrollment.pk])).content.decode()
    link = reverse("learning:identity", args=[enrollment.pk]) + "?change=1"
    assert link in page and "data-identity-method" in page
    choice = client.get(link).content.decode()
    assert "data-identity-current" in choice and "data-choose-face" in choice
    client.post(link, {"method": IdentityMethod.FACE})
    assert IdentityPreference.objects.get(enrollment=enrollment).method == IdentityMethod.FACE
    # A programme with SMS codes only: the method is shown, nothing to change.
    sms = _enrollment("sms")
    client.force_login(sms.user)
    page = client.get(reverse("learning:enrollment_detail", args=[sms.pk])).content.decode()
    assert "?change=1" not in page


def test_rejecting_the_photo_of_a_failed_attempt_annuls_nothing(
    trainee, sms_enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    check_id = _check_start(trainee, sms_enrollment, django_capture_on_commit_callbacks)
    _photo(trainee, check_id)
    _code(trainee, check_id, sms_outbox[-1].params["code"])
    trainee.post(reverse("exams:start", args=[sms_enrollment.pk]))
    attempt = Attempt.objects.get(enrollment=sms_enrollment)
    wrong = answers_scoring(attempt, wrong=attempt.question_count)
    with django_capture_on_commit_callbacks(execute=True):
        attempt = attempt_submit(attempt_id=attempt.pk, user=sms_enrollment.user, answers=wrong)
    assert attempt.passed is False
    with django_capture_on_commit_callbacks(execute=True):
        identity.identity_check_review(
            check=IdentityCheck.objects.get(pk=check_id),
            reviewer=StaffFactory(role="reviewer"),
            approve=False,
            reason="不是本人",
        )
    assert IdentityCheck.objects.get(pk=check_id).photo_review == PhotoReview.REJECTED
    assert not AuditEntry.objects.filter(
        action__in=["exams.attempt_annulled", "enrollment.pass_annulled"]
    ).exists()
    assert not OutboundMessage.objects.filter(kind="exam_pass_annulled").exists()
    sms_enrollment.refresh_from_db()
    assert sms_enrollment.status == EnrollmentStatus.ACTIVE
