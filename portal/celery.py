"""The Celery application. Settings come from Django settings (``CELERY_*``)."""

import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The periodic jobs of the whole pipeline, in code. Each app's jobs are listed here by task name.
BEAT_SCHEDULE = {
    "portal-clear-expired-sessions": {
        "task": "portal.tasks.sessions_clear",
        "schedule": crontab(hour=3, minute=17),
    },
    # learning: open missed study accounts (2-day promise), deadline reminders, expiry.
    "learning-accounts-sweep": {
        "task": "learning.tasks.accounts_sweep",
        "schedule": crontab(minute="*/15"),
    },
    "learning-reminders-send": {
        "task": "learning.tasks.reminders_send",
        "schedule": crontab(minute=7),
    },
    "learning-enrollments-expire": {
        "task": "learning.tasks.enrollments_expire",
        "schedule": crontab(minute="*/10"),
    },
    # learning: discard study time whose presence check went unanswered after the learner left.
    "learning-presence-overdue-sweep": {
        "task": "learning.tasks.presence_overdue_sweep",
        "schedule": 120.0,
    },
    # learning: identity checks not answered in time become missed (issue #23).
    "learning-identity-missed-sweep": {
        "task": "learning.tasks.identity_missed_sweep",
        "schedule": 120.0,
    },
    # learning: queue again the lesson videos whose processing task was lost.
    "learning-lesson-videos-sweep": {
        "task": "learning.tasks.lesson_videos_sweep",
        "schedule": crontab(minute="*/10"),
    },
    # learning: retention purge of documents and personal data (RETENTION_DAYS after training ended).
    "learning-personal-data-purge": {
        "task": "learning.tasks.personal_data_purge",
        "schedule": crontab(hour=2, minute=43),
    },
    # portal: messages whose sending task was lost; records older than MESSAGE_RETENTION_DAYS.
    "portal-messages-requeue-stale": {
        "task": "portal.tasks.messages_requeue_stale",
        "schedule": crontab(minute="*/5"),
    },
    "portal-messages-purge": {
        "task": "portal.tasks.messages_purge",
        "schedule": crontab(hour=3, minute=7),
    },
    # portal: log-in records (mobile, address, browser) kept LOGIN_LOG_RETENTION_DAYS.
    "portal-login-logs-purge": {
        "task": "portal.tasks.login_logs_purge",
        "schedule": crontab(hour=2, minute=53),
    },
    # exams: grade the attempts whose time ran out (the pages also check on every request).
    "exams-attempts-expire": {
        "task": "exams.tasks.attempts_expire",
        "schedule": 60.0,
    },
    # payments: e-mail finance the invoices that are overdue or due within a working day. Runs
    # daily; the task itself skips days off by the working-day calendar (portal.workdays).
    "payments-invoice-deadlines-digest": {
        "task": "payments.tasks.invoice_deadlines_digest",
        "schedule": crontab(hour=8, minute=30),
    },
    # certificates: issue the certificates a lost exam_passed signal missed; PDFs not produced yet;
    # print runs whose part or join task was lost are queued again.
    "certificates-issue-missing": {
        "task": "certificates.tasks.issue_missing",
        "schedule": crontab(minute="*/10"),
    },
    # certificates: invite the holders due for the refresher to every programme open today (once
    # per holder and programme; certificates/services/refresher.py says why daily).
    "certificates-refresher-invitations": {
        "task": "certificates.tasks.refresher_invitations_sweep",
        "schedule": crontab(hour=9, minute=13),
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE


def staff_digest_schedule(times) -> dict:
    """The beat entries of the staff digests: one per time of ``PORTAL_STAFF_DIGEST_TIMES`` (the
    task itself skips days off by the working-day calendar and sends a slot once)."""
    from portal.dashboard import digest_times_parse

    return {
        f"portal-staff-digests-{moment:%H%M}": {
            "task": "portal.tasks.staff_digests_send",
            "schedule": crontab(hour=moment.hour, minute=moment.minute),
        }
        for moment in digest_times_parse(times)
    }


@app.on_after_configure.connect
def _staff_digest_beat(sender: Celery, **kwargs: object) -> None:
    """Django settings are loaded by now (not when this module is imported, from portal/__init__)."""
    from django.conf import settings

    BEAT_SCHEDULE.update(staff_digest_schedule(settings.PORTAL_STAFF_DIGEST_TIMES))
    sender.conf.beat_schedule = BEAT_SCHEDULE


@app.on_after_configure.connect
def _ensure_filesystem_broker_folders(sender: Celery, **kwargs: object) -> None:
    """The filesystem transport needs its folders to exist before a worker or producer starts."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    backend = sender.conf.result_backend or ""
    if isinstance(backend, str) and backend.startswith("file://"):
        Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
