"""Read-side queries of the site shell."""

from django.db.models import QuerySet

from .models import Association, AuditEntry
from .services import WORKER_PING_ACTION


def association_get() -> Association | None:
    return Association.objects.order_by("pk").first()


def worker_pings_recent(*, limit: int = 5) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(action=WORKER_PING_ACTION).select_related("actor")[:limit]
