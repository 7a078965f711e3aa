"""Services of the site shell: users, the audit log and the worker probe."""

import uuid
from typing import Any

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
