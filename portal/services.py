"""Services of the site shell: users, the audit log and the worker probe."""

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from .models import AuditEntry, User

WORKER_PING_ACTION = "system.worker_ping"


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    old: Any = None,
    new: Any = None,
    reason: str = "",
    ip: str | None = None,
) -> AuditEntry:
    """Write one audit entry. Call it inside the transaction of the change it records."""
    actor = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_repr=str(actor)[:120] if actor else "",
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        old_value=old,
        new_value=new,
        reason=reason,
        ip_address=ip or None,
    )


def audit_record_many(
    *,
    actor: User | None,
    action: str,
    targets: Iterable[models.Model],
    old: Callable[[models.Model], Any] | None = None,
    new: Callable[[models.Model], Any] | None = None,
    reason: str = "",
    ip: str | None = None,
    created_at: datetime | None = None,
) -> list[AuditEntry]:
    """One audit entry per target in one INSERT: the set-based form of :func:`audit_record` for
    services that change many rows at once (``old`` / ``new`` give each target's values).
    Call it inside the transaction of the change it records."""
    actor = actor if actor is not None and getattr(actor, "pk", None) else None
    targets = list(targets)
    if not targets:
        return []
    content_type = ContentType.objects.get_for_model(targets[0])
    when = created_at or timezone.now()
    return AuditEntry.objects.bulk_create(
        AuditEntry(
            created_at=when,
            actor=actor,
            actor_repr=str(actor)[:120] if actor else "",
            action=action,
            target_type=content_type,
            target_id=str(target.pk),
            target_repr=str(target)[:200],
            old_value=old(target) if old else None,
            new_value=new(target) if new else None,
            reason=reason,
            ip_address=ip or None,
        )
        for target in targets
    )


#: What a purged personal value becomes in the audit log (the entry itself stays: who, when, what).
REDACTED = "[purged]"
REDACT_BATCH = 1000


def _redacted(value: Any, fields: frozenset[str]) -> Any:
    if not isinstance(value, dict):
        return value
    return {
        key: (REDACTED if key in fields and item not in (None, "") else item) for key, item in value.items()
    }


def audit_values_redact(
    *,
    model: type[models.Model],
    ids: Iterable[int],
    fields: Iterable[str],
    target_repr: Callable[[int], str] | None = None,
) -> int:
    """Replace the values of these personal ``fields`` in the audit entries about these objects
    (admin edits, snapshots of deleted rows) by ``REDACTED``; the entries stay. ``target_repr``
    gives the new object label (when the old one shows personal data, e.g. a user's mobile).

    For the retention purge, in its transaction. Set-based: one read and one bulk update per
    thousand entries changed, whatever the number of objects. Returns how many entries changed.
    """
    keys = {str(pk): pk for pk in ids}
    if not keys:
        return 0
    names = frozenset(fields)
    content_type = ContentType.objects.get_for_model(model)
    changed = []
    entries = AuditEntry.objects.filter(target_type=content_type, target_id__in=list(keys)).only(
        "id", "target_id", "target_repr", "old_value", "new_value"
    )
    for entry in entries.order_by("pk"):
        old, new = _redacted(entry.old_value, names), _redacted(entry.new_value, names)
        label = target_repr(keys[entry.target_id])[:200] if target_repr else entry.target_repr
        if (old, new, label) != (entry.old_value, entry.new_value, entry.target_repr):
            entry.old_value, entry.new_value, entry.target_repr = old, new, label
            changed.append(entry)
    AuditEntry.objects.bulk_update(
        changed, ["old_value", "new_value", "target_repr"], batch_size=REDACT_BATCH
    )
    return len(changed)


LOGIN_LOGS_PURGE_ACTION = "system.login_logs_purged"


def login_logs_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete django-axes' log-in records (successful log-ins, failures, lock-out counters: mobile
    number, address and browser) older than ``LOGIN_LOG_RETENTION_DAYS``. Three set-based deletes
    and one audit entry with the counts (none when nothing was old enough); idempotent."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    limit = (now or timezone.now()) - timedelta(days=int(settings.LOGIN_LOG_RETENTION_DAYS))
    with transaction.atomic():
        counts = {
            "access_logs": AccessLog.objects.filter(attempt_time__lt=limit).delete()[0],
            "failure_logs": AccessFailureLog.objects.filter(attempt_time__lt=limit).delete()[0],
            "attempts": AccessAttempt.objects.filter(attempt_time__lt=limit).delete()[0],
        }
        if any(counts.values()):
            audit_record(actor=None, action=LOGIN_LOGS_PURGE_ACTION, new=counts, reason="retention")
    return counts


@transaction.atomic
def user_create(
    *, mobile: str, name: str, password: str | None = None, email: str = "", is_staff: bool = False
) -> User:
    """Create a log-in account; ``mobile`` is normalised and validated (raises ``ValidationError``)."""
    return User.objects.create_user(
        mobile=mobile, name=name, password=password, email=email, is_staff=is_staff
    )


def worker_ping_request(*, actor: User, ip: str | None = None) -> str:
    """Queue the probe task after this transaction commits; return its token."""
    from .tasks import worker_ping  # tasks import services; import here to keep that one way

    token = uuid.uuid4().hex
    with transaction.atomic():
        audit_record(actor=actor, action="system.worker_ping_requested", new={"token": token}, ip=ip)
        worker_ping.delay_on_commit(token=token, requested_by_id=actor.pk)
    return token


def worker_ping_record(*, token: str, requested_by_id: int | None) -> bool:
    """Record that a worker ran the probe. Idempotent: a token is recorded once."""
    with transaction.atomic():
        if AuditEntry.objects.filter(action=WORKER_PING_ACTION, new_value__token=token).exists():
            return False
        audit_record(
            actor=User.objects.filter(pk=requested_by_id).first(),
            action=WORKER_PING_ACTION,
            new={"token": token, "ran_at": timezone.now().isoformat()},
        )
    return True
