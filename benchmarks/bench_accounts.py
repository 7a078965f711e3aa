"""Accounts: the expiry sweep over 100,000 enrollments (time and number of queries).

The sweep voids every row in one UPDATE and writes one audit entry for the run (run id and count;
each enrollment keeps the run id); it records the trainees' notices and queues their sending after
the commit. Timed: the whole ``enrollments_expire()`` call, commit and queueing included, with the
production settings on PostgreSQL and the Redis broker (``make bench``: see benchmarks/harness.py).
"""

import time
from datetime import timedelta

from .harness import bench_application, test_database

ROWS = 100_000


def _populate(rows: int) -> None:
    from django.utils import timezone

    from learning.models import Enrollment
    from portal.models import User
    from registration.models import Trainee, TraineeStatus

    now = timezone.now()
    programme, application = bench_application(reference="BENCH-1", year=2026)
    user = User.objects.create_user(mobile="13800000000", name="基准")
    Trainee.objects.bulk_create(
        (
            Trainee(
                application=application,
                programme=programme,
                row_number=n,
                access_key=f"bench-{n}",
                name=f"学员{n}",
                id_number=f"{n:018d}",
                mobile=f"139{n:08d}",
                certificate_type="principal",
                training_category="initial",
                status=TraineeStatus.APPROVED,
                paid_at=now - timedelta(days=40),
            )
            for n in range(rows)
        ),
        batch_size=2000,
    )
    trainee_ids = Trainee.objects.filter(programme=programme).values_list("pk", flat=True).iterator()
    Enrollment.objects.bulk_create(
        (
            Enrollment(
                trainee_id=trainee_id,
                user=user,
                programme=programme,
                opened_at=now - timedelta(days=31),
                deadline=now - timedelta(days=1),
                status_changed_at=now - timedelta(days=31),
            )
            for trainee_id in trainee_ids
        ),
        batch_size=5000,
    )


def run(report) -> None:
    with test_database("accounts"):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from learning.models import EXPIRY_AUDIT_ACTION, Enrollment, EnrollmentStatus
        from learning.services.windows import enrollments_expire
        from portal.models import AuditEntry, OutboundMessage

        _populate(ROWS)
        with connection.cursor() as cursor:  # as autovacuum would after a bulk load
            cursor.execute("ANALYZE")
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            voided = enrollments_expire()
            elapsed = time.perf_counter() - start
        assert voided == ROWS, voided
        assert Enrollment.objects.filter(status=EnrollmentStatus.EXPIRED).count() == ROWS
        # One audit entry for the run (its id and count); every voided row carries the run id.
        entry = AuditEntry.objects.get(action=EXPIRY_AUDIT_ACTION)
        assert entry.new_value["count"] == ROWS, entry.new_value
        assert Enrollment.objects.filter(expiry_run=entry.new_value["run"]).count() == ROWS
        report("expiry_100k_s", elapsed, "s")
        report("expiry_100k_queries", len(queries.captured_queries), "queries")
        report("expiry_100k_messages", OutboundMessage.objects.count(), "messages queued")
