"""Identity checks (issue #23): face comparison with the registered photo (real dlib models, real
face images from scikit-image), liveness, the choice and its consent, the SMS-code alternative,
study time confirmed or voided only since the last good check, the staff review queue."""

import datetime
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import translation

from learning.models import (
    IdentityContext,
    IdentityDecision,
    IdentityMethod,
    LessonProgress,
    ProgrammeStudyRule,
    RecordStatus,
    StudyRecord,
    StudyState,
)
from learning.selectors.identity import identity_failure_streak, identity_review_queue
from learning.services import identity
from portal.faces import face_distance, faces_find, image_decode, match_threshold
from portal.models import AuditEntry
from registration.models import Consent, ConsentKind
from tests.factories import EnrollmentFactory, LessonFactory, StaffFactory, plan_with
from tests.factories.faces import (
    face_frames,
    face_photo_bytes,
    other_face_bytes,
    other_frames,
    still_frames,
)

from .study import Learner

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _no_presence_checks(settings):
    settings.LEARNING_PRESENCE_MIN_MINUTES = 600
    settings.LEARNING_PRESENCE_MAX_MINUTES = 600


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lesson(db):
    lesson = LessonFactory(class_hours=Decimal("2"))
    plan_with(lesson.course)
    return lesson


def _enrollment(mode="face", max_failures=3):
    enrollment = EnrollmentFactory()
    enrollment.trainee.photo.save("photo.jpg", ContentFile(face_photo_bytes()), save=True)
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme,
        daily_cap_hours=Decimal(8),
        identity_mode=mode,
        identity_max_failures=max_failures,
    )
    return enrollment


@pytest.fixture
def enrollment(clock, lesson):
    return _enrollment()


def _face_check(enrollment, frames, capture):
    check = identity.identity_check_request(enrollment=enrollment, context=IdentityContext.STUDY)
    with capture(execute=True):
        identity.identity_snapshot_submit(
            check=check, user_id=enrollment.user_id, first=frames[0], second=frames[1]
        )
    check.refresh_from_db()
    return check


# --- the comparison itself ---------------------------------------------------------------------


def test_the_same_face_transformed_is_close_and_another_face_is_far():
    photo = faces_find(image_decode(face_photo_bytes()))
    frame = faces_find(image_decode(face_frames()[1]))  # shifted, turned, darker, mirrored
    other = faces_find(image_decode(other_face_bytes()))
    assert len(photo) == len(frame) == len(other) == 1
    assert len(photo[0].descriptor) == 128
    assert face_distance(photo[0].descriptor, frame[0].descriptor) < match_threshold() == 0.6
    assert face_distance(photo[0].descriptor, other[0].descriptor) > 0.6


# --- face checks -------------------------------------------------------------------------------


def test_a_choice_is_needed_before_the_first_check_and_face_records_the_consent(enrollment):
    with pytest.raises(ValidationError) as excinfo:
        identity.identity_check_request(enrollment=enrollment, context=IdentityContext.STUDY)
    assert excinfo.value.code == "identity_choice"
    with translation.override("en"):  # the text is stored in the language shown
        identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE, ip="10.0.0.1")
    consent = Consent.objects.get(trainee=enrollment.trainee, kind=ConsentKind.FACE_RECOGNITION)
    assert consent.text.startswith("I agree that ") and "compares camera snapshots of my face" in consent.text
    assert (consent.language, consent.ip, consent.text_version) == ("en", "10.0.0.1", "2026.1")
    assert AuditEntry.objects.filter(action="identity.method_chosen").count() == 1
    check = identity.identity_check_request(enrollment=enrollment, context=IdentityContext.STUDY)
    assert (check.method, check.decision) == (IdentityMethod.FACE, IdentityDecision.PENDING)
    # Asking again returns the open check.
    assert identity.identity_check_request(enrollment=enrollment, context=IdentityContext.STUDY) == check


def test_the_same_person_passes_with_distances_recorded(enrollment, django_capture_on_commit_callbacks):
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    check = _face_check(enrollment, face_frames(), django_capture_on_commit_callbacks)
    assert check.decision == IdentityDecision.PASSED
    assert check.distance < 0.6 and check.distance_second < 0.6
    assert check.liveness_passed is True and check.frames_difference > 1
    assert check.snapshot.name.startswith("learning/identity/") and check.snapshot_second
    assert AuditEntry.objects.filter(action="identity.check_passed", target_id=str(check.pk)).exists()


def test_another_person_fails(enrollment, django_capture_on_commit_callbacks):
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    check = _face_check(enrollment, other_frames(), django_capture_on_commit_callbacks)
    assert (check.decision, check.failure) == (IdentityDecision.FAILED, identity.FAILURE_NOT_SAME)
    assert check.distance > 0.6
    with translation.override("en"):
        assert identity.failure_message(check.failure) == (
            "The face does not match your registered photo. Try again in good light."
        )


def test_the_same_still_image_twice_fails_liveness(enrollment, django_capture_on_commit_callbacks):
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    check = _face_check(enrollment, still_frames(), django_capture_on_commit_callbacks)
    assert check.distance < 0.6  # the right face ...
    assert (check.liveness_passed, check.frames_difference) == (False, 0.0)  # ... but not a live camera
    assert (check.decision, check.failure) == (IdentityDecision.FAILED, identity.FAILURE_STILL_IMAGE)


def test_the_comparison_task_is_idempotent(enrollment, django_capture_on_commit_callbacks):
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    check = _face_check(enrollment, face_frames(), django_capture_on_commit_callbacks)
    identity.identity_check_compare(check_id=check.pk)
    assert AuditEntry.objects.filter(action="identity.check_passed").count() == 1


def test_a_file_that_is_not_an_image_is_refused(enrollment):
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    check = identity.identity_check_request(enrollment=enrollment, context=IdentityContext.STUDY)
    with pytest.raises(ValidationError):
        identity.identity_snapshot_submit(
            check=check, user_id=enrollment.user_id, first=b"<html>", second=b"x"
        )
    check.refresh_from_db()
    assert check.captured_at is None and not check.snapshot


# --- study time: confirmed by a good check, only the time since it voided by a bad one ----------


def test_a_failed_check_voids_only_the_time_since_the_last_good_check(
    clock, enrollment, lesson, django_capture_on_commit_callbacks
):
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    client = Client()
    client.force_login(enrollment.user)
    me = Learner(client, enrollment, lesson, clock=clock)
    me.start()
    me.study(60)  # a check is due at the session's start: nothing is credited before it passes
    assert me.responses[-1].json()["identity"] is True
    assert me.responses[-1].json()["code"] == "identity"
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=lesson)
    assert progress.credited_ms == 0
    assert _face_check(enrollment, face_frames(), django_capture_on_commit_callbacks).decision == "passed"
    state = StudyState.objects.get(enrollment=enrollment)
    assert START + timedelta(minutes=21) <= state.identity_next_at <= START + timedelta(minutes=41)
    me.study(600)  # 10 minutes, credited (pending)
    assert me.responses[-1].json()["identity"] is False
    passed = _face_check(enrollment, face_frames(), django_capture_on_commit_callbacks)
    assert passed.decision == IdentityDecision.PASSED
    assert StudyRecord.objects.get(enrollment=enrollment).status == RecordStatus.CONFIRMED
    me.study(300)  # 5 more minutes, unconfirmed
    progress.refresh_from_db()
    assert progress.credited_ms == 900_000
    failed = _face_check(enrollment, other_frames(), django_capture_on_commit_callbacks)
    assert failed.decision == IdentityDecision.FAILED
    progress.refresh_from_db()
    assert progress.credited_ms == 600_000  # the verified 10 minutes stay
    confirmed, discarded = StudyRecord.objects.filter(enrollment=enrollment).order_by("started_at")
    assert (confirmed.status, confirmed.credited_ms) == (RecordStatus.CONFIRMED, 600_000)
    assert (discarded.status, discarded.credited_ms) == (RecordStatus.DISCARDED, 300_000)
    assert discarded.reason.startswith("身份核验") or discarded.reason == (
        "Identity check not passed: the study time since the last good check was not credited."
    )
    me.study(120)  # paused until a retry passes
    progress.refresh_from_db()
    assert progress.credited_ms == 600_000 and me.responses[-1].json()["identity"] is True
    assert _face_check(enrollment, face_frames(), django_capture_on_commit_callbacks).decision == "passed"
    me.study(60)
    progress.refresh_from_db()
    assert progress.credited_ms == 660_000


def test_a_programme_without_checks_credits_as_before(clock, lesson):
    enrollment = _enrollment(mode="none")
    client = Client()
    client.force_login(enrollment.user)
    me = Learner(client, enrollment, lesson, clock=clock)
    me.start()
    me.study(120)
    assert me.responses[-1].json()["identity"] is False
    assert LessonProgress.objects.get(enrollment=enrollment, lesson=lesson).credited_ms == 120_000
    assert identity.identity_check_request(enrollment=enrollment, context=IdentityContext.STUDY) is None


# --- the SMS-code alternative --------------------------------------------------------------------


def test_declining_uses_a_code_sent_to_the_own_mobile(
    enrollment, sms_outbox, django_capture_on_commit_callbacks
):
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.SMS_CODE)
    assert not Consent.objects.filter(kind=ConsentKind.FACE_RECOGNITION).exists()
    with django_capture_on_commit_callbacks(execute=True):
        check = identity.identity_check_request(enrollment=enrollment, context=IdentityContext.STUDY)
    assert check.method == IdentityMethod.SMS_CODE
    [sms] = sms_outbox
    assert (sms.mobile, sms.kind) == (enrollment.user.mobile, "identity_code")
    code = sms.params["code"]
    with pytest.raises(ValidationError) as excinfo:
        identity.identity_code_confirm(
            check=check, user_id=enrollment.user_id, code="000000" if code != "000000" else "111111"
        )
    assert excinfo.value.code == "identity_wrong_code"
    identity.identity_code_confirm(check=check, user_id=enrollment.user_id, code=code)
    check.refresh_from_db()
    assert check.decision == IdentityDecision.PASSED


def test_a_programme_using_sms_codes_needs_no_choice(
    clock, lesson, sms_outbox, django_capture_on_commit_callbacks
):
    enrollment = _enrollment(mode="sms")
    with django_capture_on_commit_callbacks(execute=True):
        check = identity.identity_check_request(enrollment=enrollment, context=IdentityContext.EXAM)
    assert check.method == IdentityMethod.SMS_CODE and len(sms_outbox) == 1
    with pytest.raises(ValidationError):
        identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)


# --- missed checks and the staff review queue ----------------------------------------------------


def test_an_unanswered_check_is_missed_by_the_sweep(clock, enrollment):
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    check = identity.identity_check_request(enrollment=enrollment, context=IdentityContext.STUDY)
    assert identity.identity_missed_sweep() == 0
    clock.shift(timedelta(minutes=4))
    assert identity.identity_missed_sweep() == 1
    check.refresh_from_db()
    assert check.decision == IdentityDecision.MISSED
    assert identity_failure_streak(enrollment) == 1


def test_repeated_failures_go_to_staff_review(clock, lesson, django_capture_on_commit_callbacks):
    enrollment = _enrollment(max_failures=2)
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    first = _face_check(enrollment, other_frames(), django_capture_on_commit_callbacks)
    assert first.review_requested_at is None and not identity_review_queue().exists()
    second = _face_check(enrollment, other_frames(), django_capture_on_commit_callbacks)
    assert second.review_requested_at is not None
    assert list(identity_review_queue()) == [second]
    reviewer = StaffFactory()
    with pytest.raises(ValidationError) as excinfo:
        identity.identity_check_review(check=second, reviewer=reviewer, approve=False)
    assert excinfo.value.code == "reason_required"
    decided = identity.identity_check_review(check=second, reviewer=reviewer, approve=True, ip="10.0.0.2")
    assert decided.decision == IdentityDecision.STAFF_APPROVED
    assert identity_failure_streak(enrollment) == 0
    assert not identity_review_queue().exists()
    entry = AuditEntry.objects.get(action="identity.check_reviewed")
    assert (entry.actor, entry.new_value) == (reviewer, {"decision": "staff_approved"})
    with pytest.raises(ValidationError):
        identity.identity_check_review(check=second, reviewer=reviewer, approve=True)


def test_the_missed_sweep_runs_on_the_beat_schedule():
    from portal.celery import BEAT_SCHEDULE

    tasks = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert "learning.tasks.identity_missed_sweep" in tasks
    from learning.tasks import identity_missed_sweep

    assert identity_missed_sweep() == 0
