"""Identity checks (issue #23): is the person studying or sitting the exam the registered trainee?

A programme chooses (``ProgrammeStudyRule.identity_mode``): no checks, face comparison, or SMS codes.
With face comparison each trainee first chooses in the personal centre (:func:`identity_method_choose`):
face comparison, with its own consent stored as the other consents are, or the alternative, a code
sent to their own mobile (and a staff-reviewed photo at the exam).

A check is asked (:func:`identity_check_request`) at the start of a study session, at random moments
of credited study and at the exam. Face: the page takes two camera frames about a second apart
(:func:`identity_snapshot_submit`); the Celery task ``learning.tasks.identity_check_compare`` compares
both with the registered photo (:func:`identity_check_compare`, :mod:`portal.faces`) and records the
distances and the decision. Liveness (basic): both frames must match and must differ from each other
(:data:`DEFAULT_MIN_FRAME_DIFFERENCE`), which refuses the same still image sent twice (a picture
injected through a virtual camera, a re-sent file). It does NOT stop a printed photo or a phone
screen moved in front of the camera, a video replay or a mask: the checks deter casual stand-ins
and leave a reviewable trail, nothing more.

Fair failure handling: a passed check confirms the study time credited since the last good check; a
failed or missed one voids only that unconfirmed time (the study module's "pending" record lines,
discarded with the reason shown to the trainee) -- verified time is never lost. The trainee retries;
after ``identity_max_failures`` bad checks in a row the case goes to the staff review queue
(:func:`identity_check_review`: approve or reject, audited).
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.services import audit_record
from registration.models import ConsentGiver, ConsentKind
from registration.services.personal_data import consents_record

from ..models import (
    Enrollment,
    IdentityCheck,
    IdentityContext,
    IdentityDecision,
    IdentityMethod,
    IdentityPreference,
    PhotoReview,
    RecordStatus,
    StudyRecord,
    StudyState,
)
from ..selectors.identity import (
    GOOD,
    identity_check_expired,
    identity_check_open,
    identity_exam_check_passed,
    identity_failure_streak,
    identity_method,
    identity_mode,
    identity_rule,
)

#: Mean absolute difference (0-255, on a 64 x 64 gray copy) two live camera frames a second apart
#: have at least; the same still image sent twice has 0.
DEFAULT_MIN_FRAME_DIFFERENCE = 0.3
SNAPSHOT_MAX_BYTES = 400 * 1024  # each frame is stored re-encoded as a JPEG of at most this
SNAPSHOT_MAX_INPUT_BYTES = 4 * 1024 * 1024
CODE_MAX_ATTEMPTS = 5

#: Why a face check failed (``IdentityCheck.failure``).
FAILURE_NO_PHOTO_FACE = "no_photo_face"
FAILURE_NO_FACE = "no_face"
FAILURE_MANY_FACES = "many_faces"
FAILURE_NOT_SAME = "not_same"
FAILURE_STILL_IMAGE = "still_image"
FAILURE_BAD_IMAGE = "bad_image"
FAILURE_WRONG_CODE = "wrong_code"


def exam_photo_rejected_message(reason: str) -> str:
    """What the trainee is told when staff rejected the exam photo: that exam does not count (a pass
    is annulled). One place: the personal centre and the e-mail use it (the SMS is its kind)."""
    return _(
        "Staff could not confirm from the photo taken at your exam that you sat it yourself (reason: "
        "%(reason)s): that exam does not count, a pass of it is annulled. You may sit the exam again if "
        "you have attempts left."
    ) % {"reason": reason}


def min_frame_difference() -> float:
    return float(getattr(settings, "PORTAL_IDENTITY_MIN_FRAME_DIFFERENCE", DEFAULT_MIN_FRAME_DIFFERENCE))


def failure_message(failure: str) -> str:
    """What the trainee is told about a failed check."""
    return {
        FAILURE_NO_PHOTO_FACE: _(
            "Your registered photo cannot be used for the comparison; staff will check."
        ),
        FAILURE_NO_FACE: _("No face could be seen. Face the camera in good light and try again."),
        FAILURE_MANY_FACES: _("More than one face was seen. Make sure you are alone in front of the camera."),
        FAILURE_NOT_SAME: _("The face does not match your registered photo. Try again in good light."),
        FAILURE_STILL_IMAGE: _("The two pictures were identical: a live camera is needed. Try again."),
        FAILURE_BAD_IMAGE: _("The pictures could not be read. Try again."),
        FAILURE_WRONG_CODE: _("The code was wrong too many times."),
        "rate_limited": _("Too many tries in a short time. Wait a while and try again."),
    }.get(failure, _("The identity check failed. Try again."))


# --- the trainee's choice --------------------------------------------------------------------


def identity_method_choose(
    *, enrollment: Enrollment, method: str, ip: str | None = None, now: datetime | None = None
) -> IdentityPreference:
    """The trainee chooses face comparison (their separate consent is stored with the text shown) or
    the SMS-code alternative (declining face recognition; also a withdrawal of an earlier consent)."""
    now = now or timezone.now()
    if identity_mode(enrollment) != "face":
        raise ValidationError(_("This programme does not use face comparison."), code="identity_mode")
    if method not in IdentityMethod.values:
        raise ValidationError(_("Choose how to confirm who you are."), code="identity_method")
    with transaction.atomic():
        preference = IdentityPreference.objects.select_for_update().filter(enrollment=enrollment).first()
        old = preference.method if preference is not None else None
        if preference is None:
            preference = IdentityPreference(enrollment=enrollment)
        preference.method = method
        preference.chosen_at = now
        preference.save()
        if method == IdentityMethod.FACE and old != IdentityMethod.FACE:
            consents_record(
                trainees=[enrollment.trainee],
                kinds=[ConsentKind.FACE_RECOGNITION],
                given_by=ConsentGiver.TRAINEE,
                ip=ip,
                now=now,
            )
        audit_record(
            actor=enrollment.user,
            action="identity.method_chosen",
            target=enrollment,
            old={"method": old},
            new={"method": method},
            ip=ip,
        )
    return preference


# --- asking a check --------------------------------------------------------------------------


def _interval(rule, now: datetime) -> datetime:
    low = max(1, rule.identity_min_minutes) * 60
    high = max(low, rule.identity_max_minutes * 60)
    return now + timedelta(seconds=low + secrets.randbelow(high - low + 1))


def identity_study_next_at(*, enrollment: Enrollment, now: datetime) -> datetime | None:
    """When a new study session's first check is due (``StudyState.identity_next_at``): now, unless a
    study check passed less than the programme's minimum interval ago (reopening a lesson does not ask
    again); ``None`` when the programme has no checks."""
    rule = identity_rule(enrollment)
    if rule is None or rule.identity_mode == "none":
        return None
    last_good = (
        IdentityCheck.objects.filter(enrollment=enrollment, context=IdentityContext.STUDY, decision__in=GOOD)
        .order_by("-requested_at")
        .values_list("captured_at", flat=True)
        .first()
    )
    if last_good is not None and now - last_good < timedelta(minutes=rule.identity_min_minutes):
        return last_good + timedelta(minutes=rule.identity_min_minutes)
    return now


def _code_hash(check_id: int, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"identity:{check_id}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def identity_check_request(
    *,
    enrollment: Enrollment,
    context: str,
    exam_attempt_id: int | None = None,
    now: datetime | None = None,
) -> IdentityCheck | None:
    """Ask a check now (the open one if one is pending; ``None`` when the programme has no checks).

    Raises ``ValidationError`` (code ``identity_choice``) when the trainee must first choose between
    face comparison and the SMS code. With the SMS method the code is sent to the trainee's mobile.
    """
    now = now or timezone.now()
    if context not in IdentityContext.values:
        raise ValueError(context)
    if identity_mode(enrollment) == "none":
        return None
    method = identity_method(enrollment)
    if method is None:
        raise ValidationError(
            _("Choose first how to confirm who you are (face comparison or a code by SMS)."),
            code="identity_choice",
        )
    with transaction.atomic():
        Enrollment.objects.select_for_update().filter(pk=enrollment.pk).first()  # one open check at a time
        check = identity_check_open(enrollment, context=context)
        if check is not None and identity_check_expired(check, now=now):
            _decide(check=check, decision=IdentityDecision.MISSED, failure="", now=now)
            check = None
        if check is not None:
            return check
        check = IdentityCheck.objects.create(
            enrollment=enrollment,
            context=context,
            exam_attempt_id=exam_attempt_id,
            method=method,
            requested_at=now,
        )
        if method == IdentityMethod.SMS_CODE:
            code = f"{secrets.randbelow(1_000_000):06d}"
            check.code_hash = _code_hash(check.pk, code)
            check.save(update_fields=["code_hash"])
            from .messages import identity_code_notify

            identity_code_notify(check=check, code=code)
    return check


# --- answers ---------------------------------------------------------------------------------


def _snapshot_file(data: bytes, *, prefix: str) -> ContentFile:
    """A frame checked and decoded by portal.uploads, stored re-encoded (no metadata survives)."""
    from portal.faces import image_decode
    from portal.uploads import image_jpeg_encode

    image = image_decode(data, max_bytes=SNAPSHOT_MAX_INPUT_BYTES)
    return ContentFile(image_jpeg_encode(image, max_bytes=SNAPSHOT_MAX_BYTES), name=f"{prefix}.jpg")


def identity_snapshot_submit(
    *, check: IdentityCheck, user_id: int, first: bytes, second: bytes, now: datetime | None = None
) -> IdentityCheck:
    """The two camera frames of a pending face check: stored (private files) and compared by the
    worker after the commit. Raises ``ValidationError`` for an image that is not one, a check that
    is not this user's, not pending or too late."""
    now = now or timezone.now()
    first_file = _snapshot_file(first, prefix="first")
    second_file = _snapshot_file(second, prefix="second")
    with transaction.atomic():
        check = (
            IdentityCheck.objects.select_for_update()
            .filter(pk=check.pk, enrollment__user_id=user_id, method=IdentityMethod.FACE)
            .first()
        )
        if check is None or check.decision != IdentityDecision.PENDING or check.captured_at is not None:
            raise ValidationError(_("This identity check is closed."), code="identity_closed")
        if identity_check_expired(check, now=now):
            _decide(check=check, decision=IdentityDecision.MISSED, failure="", now=now)
            raise ValidationError(
                _("The time to answer this identity check has passed."), code="identity_late"
            )
        check.snapshot.save(first_file.name, first_file, save=False)
        check.snapshot_second.save(second_file.name, second_file, save=False)
        check.captured_at = now
        check.save(update_fields=["snapshot", "snapshot_second", "captured_at"])
        check_id = check.pk

        def _queue():
            from ..tasks import identity_check_compare as task

            task.delay(check_id=check_id)

        transaction.on_commit(_queue)
    return check


def identity_exam_photo_submit(
    *, check: IdentityCheck, user_id: int, photo: bytes, now: datetime | None = None
) -> IdentityCheck:
    """The one camera photo of a pending exam check answered by SMS code (the trainee declined face
    comparison: nothing compares it; staff review it, :func:`identity_check_review`). Stored as a
    private file (the check's ``snapshot``); it may be retaken until the code is confirmed."""
    now = now or timezone.now()
    photo_file = _snapshot_file(photo, prefix="exam-photo")
    with transaction.atomic():
        check = (
            IdentityCheck.objects.select_for_update()
            .filter(
                pk=check.pk,
                enrollment__user_id=user_id,
                method=IdentityMethod.SMS_CODE,
                context=IdentityContext.EXAM,
            )
            .first()
        )
        if check is None or check.decision != IdentityDecision.PENDING:
            raise ValidationError(_("This identity check is closed."), code="identity_closed")
        if identity_check_expired(check, now=now):
            _decide(check=check, decision=IdentityDecision.MISSED, failure="", now=now)
            raise ValidationError(
                _("The time to answer this identity check has passed."), code="identity_late"
            )
        old_name = check.snapshot.name if check.snapshot else ""
        check.snapshot.save(photo_file.name, photo_file, save=False)
        check.save(update_fields=["snapshot"])
        if old_name:
            transaction.on_commit(lambda: _snapshot_files_delete([old_name]))
    return check


def identity_code_confirm(
    *, check: IdentityCheck, user_id: int, code: str, now: datetime | None = None
) -> IdentityCheck:
    """The code of an SMS check typed by the trainee: passed, or a wrong attempt (failed after
    :data:`CODE_MAX_ATTEMPTS`)."""
    now = now or timezone.now()
    with transaction.atomic():
        check = (
            IdentityCheck.objects.select_for_update()
            .filter(pk=check.pk, enrollment__user_id=user_id, method=IdentityMethod.SMS_CODE)
            .first()
        )
        if check is None or check.decision != IdentityDecision.PENDING:
            raise ValidationError(_("This identity check is closed."), code="identity_closed")
        if identity_check_expired(check, now=now):
            _decide(check=check, decision=IdentityDecision.MISSED, failure="", now=now)
            raise ValidationError(
                _("The time to answer this identity check has passed."), code="identity_late"
            )
        photo_needed = check.context == IdentityContext.EXAM
        if photo_needed and not check.snapshot:
            raise ValidationError(
                _("Take the photo for the staff review first, then enter the code."), code="identity_photo"
            )
        if hmac.compare_digest(check.code_hash, _code_hash(check.pk, str(code or "").strip())):
            check.captured_at = now
            check.photo_review = PhotoReview.WAITING if photo_needed else PhotoReview.NONE
            check.save(update_fields=["captured_at", "photo_review"])
            _decide(check=check, decision=IdentityDecision.PASSED, failure="", now=now)
            return check
        check.code_attempts += 1
        check.save(update_fields=["code_attempts"])
        if check.code_attempts >= CODE_MAX_ATTEMPTS:
            _decide(check=check, decision=IdentityDecision.FAILED, failure=FAILURE_WRONG_CODE, now=now)
            return check
    raise ValidationError(_("The code is wrong."), code="identity_wrong_code")


# --- the comparison (Celery task) ------------------------------------------------------------


def _read(field) -> bytes:
    with field.open("rb") as handle:
        return handle.read()


def _compare(*, photo: bytes, first: bytes, second: bytes) -> dict:
    """Distances of both frames to the photo, the frames' difference and the decision (no database)."""
    from portal.faces import face_distance, faces_find, image_decode, image_difference, match_threshold

    result = {"distance": None, "distance_second": None, "frames_difference": None, "liveness_passed": None}
    try:
        photo_image = image_decode(photo)
        frames = [image_decode(first, max_bytes=SNAPSHOT_MAX_INPUT_BYTES),
                  image_decode(second, max_bytes=SNAPSHOT_MAX_INPUT_BYTES)]  # fmt: skip
    except ValidationError:
        return {**result, "failure": FAILURE_BAD_IMAGE}
    registered = faces_find(photo_image)
    if len(registered) != 1:
        return {**result, "failure": FAILURE_NO_PHOTO_FACE}
    found = [faces_find(frame) for frame in frames]
    result["frames_difference"] = round(image_difference(frames[0], frames[1]), 3)
    if any(len(faces) > 1 for faces in found):
        return {**result, "failure": FAILURE_MANY_FACES}
    if any(not faces for faces in found):
        return {**result, "failure": FAILURE_NO_FACE}
    result["distance"] = round(face_distance(registered[0].descriptor, found[0][0].descriptor), 4)
    result["distance_second"] = round(face_distance(registered[0].descriptor, found[1][0].descriptor), 4)
    result["liveness_passed"] = result["frames_difference"] >= min_frame_difference()
    threshold = match_threshold()
    if result["distance"] >= threshold or result["distance_second"] >= threshold:
        return {**result, "failure": FAILURE_NOT_SAME}
    if not result["liveness_passed"]:
        return {**result, "failure": FAILURE_STILL_IMAGE}
    return {**result, "failure": ""}


def identity_check_compare(*, check_id: int, now: datetime | None = None) -> IdentityCheck | None:
    """Compare a captured face check with the registered photo and decide it (the Celery task's body).

    Idempotent: a check already decided (or not captured) is returned unchanged. The comparison (CPU,
    ~0.3 s a frame) runs outside any transaction; the decision is saved with the row locked.
    """
    check = IdentityCheck.objects.select_related("enrollment__trainee").filter(pk=check_id).first()
    if check is None or check.decision != IdentityDecision.PENDING or check.captured_at is None:
        return check
    photo = check.enrollment.trainee.photo
    if not photo:
        outcome = {"failure": FAILURE_NO_PHOTO_FACE}
    else:
        outcome = _compare(
            photo=_read(photo), first=_read(check.snapshot), second=_read(check.snapshot_second)
        )
    now = now or timezone.now()
    with transaction.atomic():
        check = IdentityCheck.objects.select_for_update().filter(pk=check_id).first()
        if check.decision != IdentityDecision.PENDING:
            return check
        for name in ("distance", "distance_second", "frames_difference", "liveness_passed"):
            setattr(check, name, outcome.get(name))
        check.compared_at = now
        check.save(update_fields=["distance", "distance_second", "frames_difference", "liveness_passed",
                                  "compared_at"])  # fmt: skip
        failure = outcome["failure"]
        decision = IdentityDecision.FAILED if failure else IdentityDecision.PASSED
        _decide(check=check, decision=decision, failure=failure, now=now)
    return check


# --- decisions -------------------------------------------------------------------------------


def _study_settle(*, check: IdentityCheck, good: bool, now: datetime) -> int:
    """A study check decided: confirm the study time credited since the last good check, or void it
    (only that time: confirmed lines stay). Returns the milliseconds voided."""
    if check.context != IdentityContext.STUDY:
        return 0
    from .study import _discard_pending  # the study module's own "void the unconfirmed time"

    state = (
        StudyState.objects.select_for_update()
        .select_related("progress")
        .filter(enrollment_id=check.enrollment_id)
        .first()
    )
    pending = StudyRecord.objects.filter(enrollment_id=check.enrollment_id, status=RecordStatus.PENDING)
    if good:
        pending.update(status=RecordStatus.CONFIRMED, resolved_at=now)
        if state is not None:
            rule = identity_rule(check.enrollment)
            state.unconfirmed_ms = 0
            state.record = None
            state.identity_next_at = _interval(rule, now) if rule is not None else None
            state.save(update_fields=["unconfirmed_ms", "record", "identity_next_at"])
        return 0
    if state is None:
        return 0
    discarded = _discard_pending(state=state, now=now)
    if state.identity_next_at is not None and state.identity_next_at > now:
        state.identity_next_at = now  # crediting pauses until a retry passes
        state.save(update_fields=["identity_next_at"])
    StudyRecord.objects.filter(
        enrollment_id=check.enrollment_id, status=RecordStatus.DISCARDED, resolved_at=now
    ).update(
        reason=_("Identity check not passed: the study time since the last good check was not credited.")
    )
    return discarded


def _decide(*, check: IdentityCheck, decision: str, failure: str, now: datetime) -> None:
    """Record a decision on a locked pending check, settle the study time, send repeated failures to
    staff review, audit. Call it inside a transaction."""
    check.decision = decision
    check.failure = failure
    good = decision == IdentityDecision.PASSED
    voided = _study_settle(check=check, good=good, now=now)
    fields = ["decision", "failure"]
    if not good:
        rule = identity_rule(check.enrollment)
        limit = rule.identity_max_failures if rule is not None else 3
        check.save(update_fields=fields)
        if identity_failure_streak(check.enrollment) >= limit and decision == IdentityDecision.FAILED:
            check.review_requested_at = now
            fields.append("review_requested_at")
    check.save(update_fields=fields)
    if good and check.context == IdentityContext.EXAM and check.exam_attempt_id:
        from django.core.cache import cache

        cache.delete(_exam_due_key(check.exam_attempt_id))
    audit_record(
        actor=None,
        action=f"identity.check_{decision}",
        target=check,
        new={
            "failure": failure,
            "distance": check.distance,
            "liveness_passed": check.liveness_passed,
            "voided_ms": voided,
            "review": check.review_requested_at is not None,
        },
    )


def identity_missed_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Periodic: pending checks not answered in time become missed (their unconfirmed study time is
    voided). Returns how many."""
    now = now or timezone.now()
    done = 0
    candidates = IdentityCheck.objects.filter(decision=IdentityDecision.PENDING, captured_at__isnull=True)
    for pk in candidates.order_by("requested_at").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            check = IdentityCheck.objects.select_for_update().filter(pk=pk).first()
            if check is not None and identity_check_expired(check, now=now):
                _decide(check=check, decision=IdentityDecision.MISSED, failure="", now=now)
                done += 1
    return done


def identity_check_review(
    *, check: IdentityCheck, reviewer, approve: bool, reason: str = "", ip: str | None = None
) -> IdentityCheck:
    """Staff decide a case of the review queue (the snapshots beside the registered photo): approve
    (the trainee continues: it counts as a good check) or reject (a reason is required). Audited.

    An exam photo (SMS method, ``photo_review`` waiting): approving it lets the held certificate be
    issued; rejecting it annuls the pass of its attempt (the exams app marks the attempt and makes the
    enrollment active again; the trainee is told why) -- through
    :data:`learning.signals.exam_photo_reviewed`."""
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationError(_("Give the reason for the rejection."), code="reason_required")
    with transaction.atomic():
        locked = IdentityCheck.objects.select_for_update().filter(pk=check.pk).first()
        if locked.photo_review == PhotoReview.WAITING:
            return _photo_review(check=locked, reviewer=reviewer, approve=approve, reason=reason, ip=ip)
        if locked.decision != IdentityDecision.FAILED or locked.review_requested_at is None:
            raise ValidationError(
                _("This identity check is not waiting for review."), code="identity_not_review"
            )
        old = locked.decision
        locked.decision = IdentityDecision.STAFF_APPROVED if approve else IdentityDecision.STAFF_REJECTED
        locked.reviewed_by = reviewer
        locked.reviewed_at = timezone.now()
        locked.review_reason = reason
        locked.save(update_fields=["decision", "reviewed_by", "reviewed_at", "review_reason"])
        rule = identity_rule(locked.enrollment)
        if approve and locked.context == IdentityContext.STUDY and rule is not None:
            StudyState.objects.filter(enrollment_id=locked.enrollment_id).update(
                identity_next_at=_interval(rule, locked.reviewed_at)
            )
        audit_record(
            actor=reviewer,
            action="identity.check_reviewed",
            target=locked,
            old={"decision": old},
            new={"decision": locked.decision},
            reason=reason,
            ip=ip,
        )
    return locked


def _photo_review(
    *, check: IdentityCheck, reviewer, approve: bool, reason: str, ip: str | None
) -> IdentityCheck:
    """The staff decision on a locked exam check's photo (inside the review's transaction)."""
    from ..signals import exam_photo_reviewed

    check.photo_review = PhotoReview.APPROVED if approve else PhotoReview.REJECTED
    check.reviewed_by = reviewer
    check.reviewed_at = timezone.now()
    check.review_reason = reason
    check.save(update_fields=["photo_review", "reviewed_by", "reviewed_at", "review_reason"])
    audit_record(
        actor=reviewer,
        action="identity.check_reviewed",
        target=check,
        old={"photo_review": PhotoReview.WAITING.value},
        new={"photo_review": check.photo_review},
        reason=reason,
        ip=ip,
    )
    responses = exam_photo_reviewed.send(
        sender=IdentityCheck,
        check_id=check.pk,
        enrollment_id=check.enrollment_id,
        attempt_id=check.exam_attempt_id,
        approved=approve,
        reason=reason,
        actor=reviewer,
    )
    if not approve and any(response is True for _receiver, response in responses):
        check_id = check.pk  # a passed attempt was annulled (exams): tell the trainee after the commit

        def _notify():
            from ..tasks import identity_exam_photo_rejected_notify as task

            task.delay(check_id=check_id)

        transaction.on_commit(_notify)
    return check


def _exam_due_key(attempt_id: int) -> str:
    return f"identity:exam-due:{attempt_id}"


def identity_exam_due(*, attempt_id: int, now: datetime) -> bool:
    """Whether the random check during this exam attempt is due (read from the cache: the exam's
    timer re-reads its state every minute and must not cost a query)."""
    from django.core.cache import cache

    due = cache.get(_exam_due_key(attempt_id))
    return due is not None and now.timestamp() >= due


def identity_exam_check_use(
    *, enrollment: Enrollment, attempt_id: int, remaining_seconds: int = 0, now: datetime | None = None
) -> bool:
    """The exam attempt just started: the good exam check that opened it is tied to it (used once), and
    a second check is scheduled at a random moment between 20 % and 70 % of the time left (asked by
    the exam page when it is due: :func:`identity_exam_due`; it stays due until a check of this
    attempt passes)."""
    from django.core.cache import cache

    now = now or timezone.now()
    check = identity_exam_check_passed(enrollment, now=now)
    if check is None:
        return False
    used = IdentityCheck.objects.filter(pk=check.pk, exam_attempt_id__isnull=True).update(
        exam_attempt_id=attempt_id
    )
    if used and remaining_seconds > 60:
        low, high = remaining_seconds // 5, remaining_seconds * 7 // 10
        due = now + timedelta(seconds=low + secrets.randbelow(max(1, high - low)))
        cache.set(_exam_due_key(attempt_id), due.timestamp(), timeout=remaining_seconds + 3600)
    return bool(used)


# --- retention ---------------------------------------------------------------------------------

SNAPSHOTS_PURGE_ACTION = "identity.snapshots_deleted"


def _snapshot_files_delete(names: list[str]) -> None:
    from ..models import identity_storage

    storage = identity_storage()
    for name in names:
        if storage.exists(name):
            storage.delete(name)


def identity_snapshots_purge(
    *, trainee_ids=None, taken_before: datetime | None = None, reason: str = "retention", limit: int = 5000
) -> list[int]:
    """Delete the snapshots (private files) of the checks of these trainees (their training record's
    retention ended: ``learning.retention``), or of every check taken before ``taken_before`` (the
    shorter ``PORTAL_IDENTITY_SNAPSHOT_RETENTION_DAYS``). The check rows stay (distances, decisions:
    the training record) with ``snapshots_deleted_at``; the files go after the commit. Audited,
    idempotent. Returns the checks' ids."""
    if trainee_ids is None and taken_before is None:
        raise ValueError("trainee_ids or taken_before")
    checks = IdentityCheck.objects.filter(snapshots_deleted_at__isnull=True).exclude(
        snapshot="", snapshot_second=""
    )
    if trainee_ids is not None:
        checks = checks.filter(enrollment__trainee_id__in=sorted({int(pk) for pk in trainee_ids}))
    if taken_before is not None:
        checks = checks.filter(captured_at__lt=taken_before)
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            checks.select_for_update().order_by("pk").values_list("pk", "snapshot", "snapshot_second")[:limit]
        )
        if not rows:
            return []
        ids = [pk for pk, *_names in rows]
        names = [name for _pk, *pair in rows for name in pair if name]
        IdentityCheck.objects.filter(pk__in=ids).update(
            snapshot="", snapshot_second="", snapshots_deleted_at=now
        )
        audit_record(actor=None, action=SNAPSHOTS_PURGE_ACTION, new={"check_ids": ids}, reason=reason)
        transaction.on_commit(lambda: _snapshot_files_delete(names))
    return ids


def identity_snapshots_expire(*, now: datetime | None = None) -> list[int]:
    """The shorter retention (``PORTAL_IDENTITY_SNAPSHOT_RETENTION_DAYS`` > 0): snapshots taken longer
    ago than that are deleted, whatever the training's state."""
    days = int(getattr(settings, "PORTAL_IDENTITY_SNAPSHOT_RETENTION_DAYS", 0) or 0)
    if days <= 0:
        return []
    deleted = []
    while True:
        batch = identity_snapshots_purge(
            taken_before=(now or timezone.now()) - timedelta(days=days), reason="snapshot_retention"
        )
        deleted += batch
        if not batch:
            return deleted
