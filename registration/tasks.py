"""Background work of registration: the notices after sign-up and after each decision.

Tasks take ids and are idempotent (the services record each notice once, under a row lock).
"""

from celery import shared_task

from .services.notices import (
    application_confirmation_notify,
    trainee_attachment2_link_notify,
    trainee_duplicate_attempt_notify,
    trainee_status_change_notify,
)


@shared_task(name="registration.tasks.application_submitted_notify")
def application_submitted_notify(*, application_id: int) -> bool:
    """Confirmation with the fee due to the contact; the attachment 2 link to each trainee."""
    return application_confirmation_notify(application_id=application_id)


@shared_task(name="registration.tasks.trainee_status_notify")
def trainee_status_notify(*, trainee_id: int, audit_entry_id: int) -> bool:
    """Tell the unit's contact and the trainee about the decision recorded in ``audit_entry_id``."""
    return trainee_status_change_notify(trainee_id=trainee_id, audit_entry_id=audit_entry_id)


@shared_task(name="registration.tasks.trainee_duplicate_notify")
def trainee_duplicate_notify(*, trainee_id: int, audit_entry_id: int) -> bool:
    """Tell a registered person that a sign-up with their ID or mobile number was refused."""
    return trainee_duplicate_attempt_notify(trainee_id=trainee_id, audit_entry_id=audit_entry_id)


@shared_task(name="registration.tasks.trainee_link_notify")
def trainee_link_notify(*, trainee_id: int, mobile: str) -> bool:
    """The attachment 2 link to a trainee added after submission or whose mobile was corrected."""
    return trainee_attachment2_link_notify(trainee_id=trainee_id, mobile=mobile)
