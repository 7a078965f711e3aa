"""Identity-check reads (issue #23): the programme's mode, the trainee's chosen method, the check due,
the failure streak and the staff review queue."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from ..models import (
    Enrollment,
    IdentityCheck,
    IdentityDecision,
    IdentityMethod,
    IdentityPreference,
    PhotoReview,
    ProgrammeStudyRule,
)

#: A trainee has this long to answer a check (camera or SMS code) before it counts as missed.
DEFAULT_ANSWER_SECONDS = 180
GOOD = (IdentityDecision.PASSED, IdentityDecision.STAFF_APPROVED)
BAD = (IdentityDecision.FAILED, IdentityDecision.MISSED, IdentityDecision.STAFF_REJECTED)


def identity_answer_seconds() -> int:
    return int(getattr(settings, "PORTAL_IDENTITY_ANSWER_SECONDS", DEFAULT_ANSWER_SECONDS))


def identity_rule(enrollment: Enrollment) -> ProgrammeStudyRule | None:
    return ProgrammeStudyRule.objects.filter(programme_id=enrollment.programme_id).first()


def identity_mode(enrollment: Enrollment) -> str:
    """``none``, ``face`` or ``sms``: the programme's setting (none without a study rule)."""
    rule = identity_rule(enrollment)
    return rule.identity_mode if rule is not None else "none"


def identity_method(enrollment: Enrollment) -> str | None:
    """The method this trainee's checks use: ``sms_code`` when the programme uses SMS codes, the
    trainee's choice when it uses faces (``None``: not chosen yet, ask first), ``None`` without checks."""
    mode = identity_mode(enrollment)
    if mode == "none":
        return None
    if mode == "sms":
        return IdentityMethod.SMS_CODE
    preference = IdentityPreference.objects.filter(enrollment=enrollment).first()
    return preference.method if preference is not None else None


def identity_check_open(enrollment: Enrollment, *, context: str) -> IdentityCheck | None:
    """The check asked and not decided yet in this context (at most one)."""
    return (
        IdentityCheck.objects.filter(
            enrollment=enrollment, context=context, decision=IdentityDecision.PENDING
        )
        .order_by("-requested_at", "-pk")
        .first()
    )


def identity_check_expired(check: IdentityCheck, *, now: datetime) -> bool:
    """A pending check not answered within the answer time (a captured one waits for the worker)."""
    return (
        check.decision == IdentityDecision.PENDING
        and check.captured_at is None
        and now > check.requested_at + timedelta(seconds=identity_answer_seconds())
    )


def identity_failure_streak(enrollment: Enrollment) -> int:
    """Failed or missed checks since the last good one (passed or approved by staff)."""
    decisions = (
        IdentityCheck.objects.filter(enrollment=enrollment)
        .exclude(decision=IdentityDecision.PENDING)
        .order_by("-requested_at", "-pk")
        .values_list("decision", flat=True)[:50]
    )
    streak = 0
    for decision in decisions:
        if decision in GOOD:
            break
        streak += 1
    return streak


def identity_review_waiting_q() -> Q:
    """The checks awaiting staff review: sent after repeated failures, or an exam photo (SMS method)."""
    return Q(decision=IdentityDecision.FAILED, review_requested_at__isnull=False) | Q(
        photo_review=PhotoReview.WAITING
    )


def identity_review_queue() -> QuerySet[IdentityCheck]:
    """Checks awaiting staff review (:func:`identity_review_waiting_q`), oldest first."""
    return (
        IdentityCheck.objects.filter(identity_review_waiting_q())
        .select_related("enrollment__trainee")
        .order_by("review_requested_at", "pk")
    )


def identity_exam_photo_held(enrollment_ids) -> set[int]:
    """The rule (issue #23) holding a certificate back: the enrollments with an exam photo (SMS
    method) staff have not approved yet. The certificate is issued once staff approve it."""
    return set(
        IdentityCheck.objects.filter(
            enrollment_id__in=list(enrollment_ids), context="exam", photo_review=PhotoReview.WAITING
        ).values_list("enrollment_id", flat=True)
    )


#: A passed exam check opens the exam for this long (the trainee starts the paper right after it).
EXAM_CHECK_VALID_MINUTES = 30


def identity_exam_check_passed(enrollment: Enrollment, *, now: datetime) -> IdentityCheck | None:
    """The good exam check, not yet used by an attempt, of the last ``EXAM_CHECK_VALID_MINUTES``
    (``None``: the exam needs one first)."""
    return (
        IdentityCheck.objects.filter(
            enrollment=enrollment,
            context="exam",
            exam_attempt_id__isnull=True,
            decision__in=GOOD,
            requested_at__gte=now - timedelta(minutes=EXAM_CHECK_VALID_MINUTES),
        )
        .order_by("-requested_at")
        .first()
    )


def identity_exam_cleared(enrollment: Enrollment, *, now: datetime) -> bool:
    """Whether the exam may start: the programme has no checks, or an exam check passed just now."""
    return identity_mode(enrollment) == "none" or identity_exam_check_passed(enrollment, now=now) is not None


@dataclass(frozen=True)
class IdentitySummary:
    """What the enrollment page shows about identity checks."""

    mode: str  # face or sms
    method: str | None  # the method in use (None: not chosen yet)
    changeable: bool  # the trainee may change it (face mode)
    photo_waiting: bool  # an exam photo awaits staff review (the certificate waits)
    rejection: IdentityCheck | None  # the exam photo rejected (the pass annulled)


def identity_enrollment_summary(enrollment: Enrollment) -> IdentitySummary | None:
    """The identity-check method and exam-photo state of an enrollment (``None``: no checks)."""
    mode = identity_mode(enrollment)
    if mode == "none":
        return None
    photos = list(
        IdentityCheck.objects.filter(enrollment=enrollment, context="exam")
        .exclude(photo_review=PhotoReview.NONE)
        .order_by("-requested_at", "-pk")
        .only("pk", "photo_review", "review_reason", "reviewed_at")[:1]
    )
    last = photos[0] if photos else None
    rejected = (
        last
        if last is not None and last.photo_review == PhotoReview.REJECTED and enrollment.status != "passed"
        else None
    )
    return IdentitySummary(
        mode=mode,
        method=identity_method(enrollment),
        changeable=mode == "face",
        photo_waiting=last is not None and last.photo_review == PhotoReview.WAITING,
        rejection=rejected,
    )
