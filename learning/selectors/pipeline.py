"""The trainee's pipeline (application → payment → account → window → study → exam → certificate →
mailing) as their pages show it, and the counts per stage on the staff dashboard.

Learning builds the stages up to the study window; the apps that own the later stages fill them in
through :data:`PIPELINE_STEP_PROVIDERS` and :data:`PIPELINE_PREFETCHERS`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from registration.models import Trainee, TraineeStatus

from ..models import Enrollment, EnrollmentStatus
from .enrollments import enrollment_access, enrollment_days_left


@dataclass
class PipelineStep:
    """One stage of the trainee's pipeline as shown on their pages.

    ``state`` is one of "done", "current", "upcoming", "blocked". The apps that own a stage (study,
    exam, certificate, mailing) fill it in through :data:`PIPELINE_STEP_PROVIDERS`.
    """

    key: str
    label: str
    state: str
    detail: str = ""
    when: datetime | None = None
    extra: dict = field(default_factory=dict)


# ``key -> callable(enrollment, step) -> step``: the app that owns a stage ("study": learning,
# "exam": exams, "certificate" and "mailing": certificates) registers it from its AppConfig.ready.
# Providers must not query per enrollment: they read what a prefetcher below loaded.
PIPELINE_STEP_PROVIDERS: dict[str, Callable[[Enrollment, PipelineStep], PipelineStep]] = {}

# ``callable(enrollments)``: loads what a step provider reads, in one query for all the enrollments
# a page shows (it sets attributes on the enrollments). Registered from the apps' AppConfig.ready.
PIPELINE_PREFETCHERS: list[Callable[[list[Enrollment]], None]] = []


def enrollments_pipeline_prefetch(enrollments: list[Enrollment]) -> None:
    for prefetch in PIPELINE_PREFETCHERS:
        prefetch(enrollments)


def enrollment_pipeline(enrollment: Enrollment, *, now: datetime | None = None) -> list[PipelineStep]:
    now = now or timezone.now()
    trainee = enrollment.trainee
    application = trainee.application
    steps = [
        PipelineStep(
            "application",
            _("Application"),
            "done" if trainee.status == TraineeStatus.APPROVED else "current",
            trainee.get_status_display(),
            application.submitted_at,
        ),
        PipelineStep(
            "payment",
            pgettext("pipeline step", "Payment"),
            "done" if trainee.paid_at else "current",
            _("Fee paid") if trainee.paid_at else _("Awaiting payment"),
            trainee.paid_at,
        ),
        PipelineStep("account", _("Study account"), "done", _("Account opened"), enrollment.opened_at),
    ]
    access = enrollment_access(enrollment, now=now)
    if enrollment.status == EnrollmentStatus.PASSED:
        window = PipelineStep("window", _("Study window"), "done", _("Completed"), enrollment.deadline)
    elif not access.can_study:
        window = PipelineStep(
            "window", _("Study window"), "blocked", _("Expired (void)"), enrollment.deadline
        )
    else:
        days = enrollment_days_left(enrollment, now=now)
        window = PipelineStep(
            "window",
            _("Study window"),
            "current",
            _("%(days)s days left") % {"days": days},
            enrollment.deadline,
            {"days_left": days},
        )
    steps.append(window)
    labels = {
        "study": _("Study the courses"),
        "exam": _("Exam"),
        "certificate": _("Certificate"),
        "mailing": _("Certificate mailed"),
    }
    for key, label in labels.items():
        if enrollment.status == EnrollmentStatus.PASSED and key in ("study", "exam"):
            step = PipelineStep(key, label, "done", _("Passed"))
        elif not access.can_study and enrollment.status != EnrollmentStatus.PASSED:
            step = PipelineStep(key, label, "blocked")
        else:
            step = PipelineStep(key, label, "upcoming")
        provider = PIPELINE_STEP_PROVIDERS.get(key)
        steps.append(provider(enrollment, step) if provider else step)
    return steps


def pipeline_counts(*, programme_id: int | None = None) -> dict[str, int]:
    """Counts per pipeline stage in two aggregate queries."""
    trainees = Trainee.objects.all()
    enrollments = Enrollment.objects.all()
    if programme_id:
        trainees = trainees.filter(programme_id=programme_id)
        enrollments = enrollments.filter(programme_id=programme_id)
    t = trainees.aggregate(
        registered=Count("pk"),
        approved=Count("pk", filter=Q(status=TraineeStatus.APPROVED)),
        paid=Count("pk", filter=Q(paid_at__isnull=False)),
    )
    e = enrollments.aggregate(
        opened=Count("pk"),
        active=Count("pk", filter=Q(status=EnrollmentStatus.ACTIVE)),
        expired=Count("pk", filter=Q(status=EnrollmentStatus.EXPIRED)),
        passed=Count("pk", filter=Q(status=EnrollmentStatus.PASSED)),
    )
    return {**t, **e}
