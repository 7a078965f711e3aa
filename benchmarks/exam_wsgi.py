"""WSGI entry point of the exam load test only. It stands in for what the learning app will provide
(``enrollment_exam_unlocked``: every prepared trainee has finished studying; and, while it does
not exist yet, ``enrollment_mark_passed``). Never used by the portal itself."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.exam_settings")
application = get_wsgi_application()


def _install_bench_hooks() -> None:
    from django.utils import timezone

    from learning import selectors, services
    from learning.models import Enrollment, EnrollmentStatus

    selectors.enrollment_exam_unlocked = lambda enrollment: True
    if not hasattr(services, "enrollment_mark_passed"):

        def enrollment_mark_passed(*, enrollment, passed_at, actor=None):
            Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
                status=EnrollmentStatus.PASSED, status_changed_at=passed_at or timezone.now()
            )
            return enrollment

        services.enrollment_mark_passed = enrollment_mark_passed


_install_bench_hooks()
