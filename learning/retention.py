"""Retention: purge the documents and personal data of trainees whose training ended more than
``RETENTION_DAYS`` ago (default 3 years), as the consent texts promise.

Finished means: the enrollment passed (``passed_at``) or expired (``expired_at``), or the
registration was rejected or withdrawn and never got an enrollment (``status_changed_at``).
Learning runs the job because it is the first app that knows all of this; each app purges its
own data: ``payments.services.payments_purge_proofs`` (payment screenshots) and
``registration.services.trainees_purge_personal_data`` (ID number, mobile, addresses, work
history, photo and ID card copies; name and masked ID number stay for certificate checks).
Set-based batches, idempotent: purged trainees are never selected again.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from payments.services import payments_purge_proofs
from registration.models import Trainee, TraineeStatus
from registration.services import trainees_purge_personal_data

from .models import EnrollmentStatus

BATCH_SIZE = 500
PURGE_REASON = "retention"


def retention_cutoff(*, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=int(settings.RETENTION_DAYS))


def trainees_finished_before(cutoff: datetime) -> QuerySet[Trainee]:
    """Trainees not purged yet whose training ended before ``cutoff``."""
    passed = Q(enrollment__status=EnrollmentStatus.PASSED, enrollment__passed_at__lt=cutoff)
    expired = Q(enrollment__status=EnrollmentStatus.EXPIRED, enrollment__expired_at__lt=cutoff)
    never_enrolled = Q(
        status__in=[TraineeStatus.REJECTED, TraineeStatus.WITHDRAWN],
        enrollment__isnull=True,
        status_changed_at__lt=cutoff,
    )
    return Trainee.objects.filter(purged_at__isnull=True).filter(passed | expired | never_enrolled)


def personal_data_purge(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Purge every finished trainee, ``batch_size`` per transaction; returns how many were purged."""
    cutoff = retention_cutoff(now=now)
    selected = trainees_finished_before(cutoff).order_by("pk").values_list("pk", flat=True)
    total = 0
    last = 0
    while True:
        ids = list(selected.filter(pk__gt=last)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            payments_purge_proofs(trainee_ids=ids, reason=PURGE_REASON)
            total += len(trainees_purge_personal_data(trainee_ids=ids, reason=PURGE_REASON))
        last = ids[-1]
    return total
