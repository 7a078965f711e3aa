from celery import shared_task
from django.core.management import call_command

from . import services


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
