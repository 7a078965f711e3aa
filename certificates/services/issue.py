"""Issuing: one certificate per passed enrollment whose class hours are complete, set-based and
idempotent, numbered from the row's sequence; the PDF and the holder's notice follow after the commit
(Celery tasks), and a periodic sweep catches enrollments a lost signal left without one."""

import logging
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from learning.models import Enrollment, EnrollmentStatus
from learning.selectors.identity import identity_exam_photo_held
from learning.selectors.study import enrollment_study_overviews
from portal.models import User
from portal.services import audit_record
from portal.workdays import Deadline, working_days_deadline
from registration.validators import id_number_mask

from ..models import Certificate
from .config import certificate_issuer, certificate_settings_get, number_format

logger = logging.getLogger(__name__)


@dataclass
class IssueResult:
    issued: list[Certificate] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # enrollment id -> why


def certificates_issue(*, enrollment_ids: list[int], actor: User | None = None) -> IssueResult:
    """Issue the certificates of these passed enrollments (set-based, idempotent).

    One certificate per passed enrollment however often or concurrently this runs: the enrollment
    rows are locked, the ones that already have a certificate are skipped, and the one-to-one
    constraint backs it up. Enrollments not passed, or passed without the required hours, are
    skipped with the reason (the latter audited for staff).
    """
    result = IssueResult()
    ids = sorted({int(pk) for pk in enrollment_ids})
    if not ids:
        return result
    config = certificate_settings_get()
    issuer = certificate_issuer()
    try:
        with transaction.atomic():
            enrollments = list(
                Enrollment.objects.select_for_update(of=("self",))
                .select_related("trainee", "trainee__application", "programme")
                .filter(pk__in=ids)
                .order_by("pk")
            )
            existing = set(
                Certificate.objects.filter(enrollment__in=ids).values_list("enrollment_id", flat=True)
            )
            held = identity_exam_photo_held(ids)  # issue #23: the exam photo awaits staff review
            candidates = []
            for enrollment in enrollments:
                if enrollment.pk in existing:
                    result.skipped[enrollment.pk] = "exists"
                elif enrollment.status != EnrollmentStatus.PASSED or enrollment.passed_at is None:
                    result.skipped[enrollment.pk] = "not_passed"
                elif enrollment.pk in held:
                    result.skipped[enrollment.pk] = "identity_photo_review"
                else:
                    candidates.append(enrollment)
            overviews = enrollment_study_overviews(candidates)
            due_by_day: dict[date, Deadline] = {}
            rows = []
            for enrollment in candidates:
                overview = overviews[enrollment.pk]
                if not overview.complete:
                    result.skipped[enrollment.pk] = "hours_incomplete"
                    audit_record(
                        actor=actor,
                        action="certificate.withheld",
                        target=enrollment,
                        reason=_("The exam was passed but the required class hours are not complete."),
                        new={"hours_done": str(overview.hours_done), "required": overview.required_hours},
                    )
                    continue
                passed_day = timezone.localdate(enrollment.passed_at)
                if passed_day not in due_by_day:
                    due_by_day[passed_day] = working_days_deadline(
                        start=passed_day, days=config.mailing_working_days
                    )
                trainee = enrollment.trainee
                application = trainee.application
                rows.append(
                    Certificate(
                        enrollment=enrollment,
                        holder_name=trainee.name,
                        id_number_masked=trainee.id_number_masked or id_number_mask(trainee.id_number),
                        certificate_type=trainee.certificate_type,
                        training_category=trainee.training_category,
                        hours=overview.required_hours,
                        unit_name=application.unit_name,
                        issuer=issuer,
                        passed_at=enrollment.passed_at,
                        issue_date=timezone.localdate(),
                        mail_recipient=application.mail_recipient,
                        mail_phone=application.mail_phone,
                        mail_address=application.mail_address,
                        mail_due_on=due_by_day[passed_day].date,
                        deadline_provisional=due_by_day[passed_day].provisional,
                    )
                )
            if not rows:
                return result
            created = Certificate.objects.bulk_create(rows)
            if any(row.pk is None for row in created):  # backends without RETURNING
                by_enrollment = dict(
                    Certificate.objects.filter(
                        enrollment__in=[row.enrollment_id for row in rows]
                    ).values_list("enrollment_id", "pk")
                )
                for row in created:
                    row.pk = row.id = by_enrollment[row.enrollment_id]
            for row in created:
                row.number = number_format(
                    prefix=config.number_prefix, year=row.issue_date.year, serial=row.pk
                )
            Certificate.objects.bulk_update(created, ["number"])
            for row in created:
                audit_record(
                    actor=actor,
                    action="certificate.issued",
                    target=row,
                    new={
                        "number": row.number,
                        "enrollment": row.enrollment_id,
                        "due": row.mail_due_on.isoformat(),
                    },
                )
            result.issued = created
            issued_ids = [row.pk for row in created]
            transaction.on_commit(lambda: _queue_after_issue(issued_ids))
    except IntegrityError:
        # A concurrent run issued one of them first: the constraint kept it single. Run again
        # for the rest (they are now all either issued or skippable).
        logger.info("Concurrent certificate issue for %s; retrying", ids)
        return certificates_issue(enrollment_ids=ids, actor=actor)
    return result


def _queue_after_issue(certificate_ids: list[int]) -> None:
    from ..tasks import certificate_issued_notify, certificate_render

    for pk in certificate_ids:
        certificate_render.delay(certificate_id=pk)
        certificate_issued_notify.delay(certificate_id=pk)


def certificates_issue_missing(*, batch_size: int = 500) -> int:
    """The periodic sweep: passed enrollments without a certificate get one (catches a lost signal)."""
    ids = list(
        Enrollment.objects.filter(status=EnrollmentStatus.PASSED, certificate__isnull=True)
        .order_by("passed_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        return 0
    return len(certificates_issue(enrollment_ids=ids).issued)
