"""Celery tasks of the learning app: thin wrappers around services (ids in, idempotent)."""

import logging

from celery import shared_task
from django.core.exceptions import ValidationError

from .conf import conf
from .services import accounts, messages, study, windows

logger = logging.getLogger("learning")


@shared_task(name="learning.tasks.account_open")
def account_open(*, trainee_id: int) -> int | None:
    """Open a paid trainee's study account (queued when the payment is confirmed). Idempotent."""
    try:
        return accounts.account_open(trainee_id=trainee_id).pk
    except ValidationError as exc:
        logger.info("No study account for trainee %s: %s", trainee_id, "; ".join(exc.messages))
        return None


@shared_task(name="learning.tasks.account_welcome_send")
def enrollment_welcome_notify(*, enrollment_id: int) -> bool:
    """Send the account-opened message once (queued when the account opens)."""
    return messages.enrollment_welcome_notify(enrollment_id=enrollment_id)


@shared_task(name="learning.tasks.accounts_sweep")
def accounts_sweep() -> dict:
    """Periodic: open accounts the payment event missed (the notice promises 2 days)."""
    return accounts.accounts_sweep()


@shared_task(name="learning.tasks.reminders_send")
def reminders_notify() -> int:
    """Periodic: study-deadline reminders (LEARNING_REMINDER_DAYS), once each."""
    return messages.reminders_notify()


@shared_task(name="learning.tasks.enrollments_expire")
def enrollments_expire() -> int:
    """Periodic: void enrollments whose study window passed without a pass."""
    return windows.enrollments_expire()


@shared_task(name="learning.tasks.presence_overdue_sweep")
def presence_overdue_sweep() -> int:
    """Periodic: discard the unconfirmed study time of sessions whose presence check went unanswered."""
    return study.presence_overdue_sweep()


@shared_task(name="learning.tasks.personal_data_purge")
def personal_data_purge() -> int:
    """Periodic: purge documents and personal data RETENTION_DAYS after the training ended."""
    from . import retention

    return retention.personal_data_purge()


# Converting a long lecture takes a while: these limits replace the default 10 minutes
# (the conversion itself stops at LEARNING_VIDEO_TIMEOUT_SECONDS and marks the lesson failed).
_VIDEO_SECONDS = int(conf("LEARNING_VIDEO_TIMEOUT_SECONDS"))


@shared_task(
    name="learning.tasks.lesson_video_process",
    soft_time_limit=_VIDEO_SECONDS + 300,
    time_limit=_VIDEO_SECONDS + 600,
)
def lesson_video_process(*, lesson_id: int) -> str | None:
    """Make the phone version, poster and duration of a lesson's video (learning/video.py).
    Idempotent: safe to run twice."""
    from . import video

    lesson = video.lesson_video_process(lesson_id=lesson_id)
    return lesson.video_status if lesson is not None else None


@shared_task(name="learning.tasks.lesson_videos_sweep")
def lesson_videos_sweep() -> int:
    """Periodic: queue again the lesson videos whose task was lost."""
    from . import video

    return video.lesson_videos_sweep()


@shared_task(name="learning.tasks.identity_check_compare")
def identity_check_compare(*, check_id: int) -> str | None:
    """Compare a captured identity check with the registered photo (queued after the capture).
    Idempotent: a decided check is left as it is."""
    from .services import identity

    check = identity.identity_check_compare(check_id=check_id)
    return check.decision if check is not None else None


@shared_task(name="learning.tasks.identity_missed_sweep")
def identity_missed_sweep() -> int:
    """Periodic: identity checks not answered in time become missed (unconfirmed study time voided)."""
    from .services import identity

    return identity.identity_missed_sweep()


@shared_task(name="learning.tasks.identity_exam_photo_rejected_notify")
def identity_exam_photo_rejected_notify(*, check_id: int) -> bool:
    """Tell the trainee the exam pass was annulled (the exam photo was rejected by staff; idempotent)."""
    from .services.messages import identity_exam_photo_rejected_notify as notify

    return notify(check_id=check_id)
