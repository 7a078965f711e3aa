"""Retention: purge the documents and personal data of trainees whose training ended more than
``RETENTION_DAYS`` ago (default 3 years), as the consent texts promise.

Finished means: the enrollment passed (``passed_at``) or expired (``expired_at``), or the
registration never got an enrollment and has not moved since (``status_changed_at``, and
``paid_at`` if paid): rejected, withdrawn, or approved and never paid.
Learning runs the job because it is the first app that knows all of this; each app purges its
own data: ``payments.services.retention.payments_purge_personal_data`` (payment screenshots, payer mobile,
invoice e-mail), ``registration.services.retention.trainees_purge_personal_data`` (ID number, mobile,
addresses, work history, photo and ID card copies; name and masked ID number stay for certificate
checks) and ``applications_purge_contact_data`` (an application's contact and mailing details once
all its trainees are purged), learning the study accounts (``study_accounts_purge``) and the
identity-check snapshots (``identity_snapshots_purge``; sooner with
``PORTAL_IDENTITY_SNAPSHOT_RETENTION_DAYS``: ``identity_snapshots_expire``), and the later
apps what they registered in ``RETENTION_PURGERS`` (certificates: the mailing address copy).
Each step also replaces the personal values in the audit entries about what it purged
(``portal.services.audit_values_redact``). Set-based batches, idempotent: purged trainees are
never selected again.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone

from payments.services.retention import payments_purge_personal_data
from portal.models import User
from portal.services import audit_record, audit_values_redact
from registration.models import Trainee
from registration.services.retention import applications_purge_contact_data, trainees_purge_personal_data

from .models import Enrollment, EnrollmentStatus
from .services.identity import identity_snapshots_expire, identity_snapshots_purge

BATCH_SIZE = 500
PURGE_REASON = "retention"
ACCOUNTS_PURGE_ACTION = "user.study_accounts_purged"
#: The purges of the apps further along the pipeline (certificates: the mailing details), registered
#: from their AppConfig.ready and called in the same transaction with the ids of the trainees purged now.
RETENTION_PURGERS: list[Callable[..., object]] = []


def retention_cutoff(*, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=int(settings.RETENTION_DAYS))


def trainees_finished_before(cutoff: datetime) -> QuerySet[Trainee]:
    """Trainees not purged yet whose training ended before ``cutoff``."""
    passed = Q(enrollment__status=EnrollmentStatus.PASSED, enrollment__passed_at__lt=cutoff)
    expired = Q(enrollment__status=EnrollmentStatus.EXPIRED, enrollment__expired_at__lt=cutoff)
    never_enrolled = Q(enrollment__isnull=True, status_changed_at__lt=cutoff) & (
        Q(paid_at__isnull=True) | Q(paid_at__lt=cutoff)
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
            purged = trainees_purge_personal_data(trainee_ids=ids, reason=PURGE_REASON)
            for purge in (
                payments_purge_personal_data,
                applications_purge_contact_data,
                study_accounts_purge,
                identity_snapshots_purge,
                *RETENTION_PURGERS,
            ):
                purge(trainee_ids=purged, reason=PURGE_REASON)
            total += len(purged)
        last = ids[-1]
    identity_snapshots_expire(now=now)  # the shorter snapshot retention, when set
    return total


def study_accounts_purge(*, trainee_ids, reason: str = "") -> list[int]:
    """Close the study accounts of these (purged) trainees for good: the log-in mobile number is
    replaced by a placeholder that can never be a mobile number (``x`` and the account id), the
    e-mail emptied, the password made unusable, the account deactivated. An account that still
    belongs to a trainee not purged (the same person trained again later) is left alone, and so
    are staff accounts. The name stays, as on the trainee row. Set-based, idempotent.
    """
    ids = sorted({int(pk) for pk in trainee_ids})
    if not ids:
        return []
    with transaction.atomic():
        users = list(
            User.objects.select_for_update()
            .filter(pk__in=Enrollment.objects.filter(trainee_id__in=ids).values("user_id"))
            .filter(is_staff=False, is_superuser=False)
            .exclude(mobile__startswith="x")
            .exclude(pk__in=Enrollment.objects.filter(trainee__purged_at__isnull=True).values("user_id"))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not users:
            return []
        User.objects.filter(pk__in=users).update(
            mobile=Concat(Value("x"), LPad(Cast("pk", CharField()), 10, Value("0"))),
            email="",
            password=make_password(None),
            is_active=False,
        )
        labels = {
            user.pk: str(user) for user in User.objects.filter(pk__in=users).only("pk", "name", "mobile")
        }
        audit_values_redact(model=User, ids=users, fields={"mobile", "email"}, target_repr=labels.__getitem__)
        audit_record(actor=None, action=ACCOUNTS_PURGE_ACTION, new={"user_ids": users}, reason=reason)
    return users
