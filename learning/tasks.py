"""Celery tasks of the learning app: thin wrappers around services (ids in, idempotent)."""

import logging

from celery import shared_task
from django.core.exceptions import ValidationError

from . import services

logger = logging.getLogger("learning")


@shared_task(name="learning.tasks.account_open")
def account_open(*, trainee_id: int) -> int | None:
    """Open a paid trainee's study account (queued when the payment is confirmed). Idempotent."""
    try:
        return services.account_open(trainee_id=trainee_id).pk
    except ValidationError as exc:
        logger.info("No study account for trainee %s: %s", trainee_id, "; ".join(exc.messages))
        return None


@shared_task(name="learning.tasks.account_welcome_send")
def account_welcome_send(*, enrollment_id: int) -> bool:
    """Send the account-opened message once."""
    return services.enrollment_welcome_send(enrollment_id=enrollment_id)


@shared_task(name="learning.tasks.accounts_sweep")
def accounts_sweep() -> dict:
    """Periodic: open accounts the payment event missed (the notice promises 2 days)."""
    return services.accounts_sweep()


@shared_task(name="learning.tasks.reminders_send")
def reminders_send() -> int:
    """Periodic: study-deadline reminders (LEARNING_REMINDER_DAYS), once each."""
    return services.reminders_send()


@shared_task(name="learning.tasks.enrollments_expire")
def enrollments_expire() -> int:
    """Periodic: void enrollments whose study window passed without a pass."""
    return services.enrollments_expire()


@shared_task(name="learning.tasks.presence_overdue_sweep")
def presence_overdue_sweep() -> int:
    """Periodic: discard the unconfirmed study time of sessions whose presence check went unanswered."""
    return services.presence_overdue_sweep()


@shared_task(name="learning.tasks.personal_data_purge")
def personal_data_purge() -> int:
    """Periodic: purge documents and personal data RETENTION_DAYS after the training ended."""
    from . import retention

    return retention.personal_data_purge()
