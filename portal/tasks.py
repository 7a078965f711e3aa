from celery import shared_task
from django.conf import settings
from django.core.management import call_command

from . import services
from .messaging import services as messaging


@shared_task(name="portal.tasks.worker_ping", ignore_result=False)
def worker_ping(*, token: str, requested_by_id: int | None = None) -> dict:
    """Probe queued from the web process: proves a worker picks up tasks."""
    recorded = services.worker_ping_record(token=token, requested_by_id=requested_by_id)
    return {"token": token, "recorded": recorded}


@shared_task(name="portal.tasks.echo")
def echo(value: str) -> str:
    """Round trip without side effects, used to check a broker and a worker end to end."""
    return f"echo:{value}"


@shared_task(name="portal.tasks.login_logs_purge")
def login_logs_purge() -> dict[str, int]:
    """Nightly: delete log-in records older than LOGIN_LOG_RETENTION_DAYS (idempotent)."""
    return services.login_logs_purge()


@shared_task(name="portal.tasks.sessions_clear")
def sessions_clear() -> None:
    """Nightly housekeeping: drop expired sessions (idempotent)."""
    call_command("clearsessions")


@shared_task(
    bind=True,
    name="portal.tasks.message_send",
    max_retries=settings.MESSAGE_MAX_RETRIES,
    acks_late=True,
    ignore_result=True,
)
def message_send(self, *, message_id: int):
    """Send one recorded SMS / e-mail; on a temporary error try again with exponential backoff.

    The retry is scheduled without failing this run (``throw=False``): the record already says
    what happened, and in tests (eager tasks) the retry runs at once instead of raising."""
    countdown = messaging.message_send(
        message_id=message_id, retries=self.request.retries, max_retries=self.max_retries
    )
    if countdown is not None:
        return self.retry(countdown=countdown, throw=False)
    return None


@shared_task(name="portal.tasks.messages_requeue_stale")
def messages_requeue_stale() -> int:
    """Every few minutes: queue again the messages whose task was lost (idempotent)."""
    return messaging.messages_requeue_stale()


@shared_task(name="portal.tasks.messages_purge")
def messages_purge() -> int:
    """Nightly: delete messages older than MESSAGE_RETENTION_DAYS (idempotent)."""
    return messaging.messages_purge()


@shared_task(name="portal.tasks.staff_digests_send")
def staff_digests_send() -> dict[str, int]:
    """At each PORTAL_STAFF_DIGEST_TIMES of a working day: every role's digest (idempotent per slot)."""
    from django.utils import timezone

    from .dashboard.services import staff_digests_send as send

    return send(now=timezone.now())
