"""Identity-check reads (issue #23): the programme's mode, the trainee's chosen method, the check due,
the failure streak and the staff review queue."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from ..models import (
    Enrollment,
    IdentityCheck,
    IdentityDecision,
    IdentityMethod,
    IdentityPreference,
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


def identity_review_queue() -> QuerySet[IdentityCheck]:
    """Checks sent to staff review (after repeated failures) and not decided by staff yet."""
    return (
        IdentityCheck.objects.filter(decision=IdentityDecision.FAILED, review_requested_at__isnull=False)
        .select_related("enrollment__trainee")
        .order_by("review_requested_at", "pk")
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
