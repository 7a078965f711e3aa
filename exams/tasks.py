"""Periodic jobs of the exams app."""

from celery import shared_task

from . import services


@shared_task(name="exams.tasks.attempts_expire")
def attempts_expire() -> int:
    """Grade every attempt whose time is up with its saved answers (idempotent, set-based)."""
    return services.attempts_expire()
