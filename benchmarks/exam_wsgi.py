"""WSGI entry point of the exam load test only (``benchmarks/bench_exams.py``); never used by the
portal itself. The prepared trainees have no study history, so learning's unlock rule
(``learning.selectors.study.enrollment_exam_unlocked``) is replaced by "unlocked": the load test measures
the exam pages, not the study overview."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.exam_settings")
application = get_wsgi_application()


def _install_bench_hooks() -> None:
    from learning.selectors import study

    if not hasattr(study, "enrollment_exam_unlocked"):  # a rename must not go unnoticed
        raise ImportError(
            "learning.selectors.study.enrollment_exam_unlocked is gone: update the exam load test"
        )
    study.enrollment_exam_unlocked = lambda enrollment: True


_install_bench_hooks()
