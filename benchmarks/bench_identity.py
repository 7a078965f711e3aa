"""Identity checks (issue #23): the cost of a face comparison, and checks a second through the worker.

Figures:
- match_ms: server CPU time (``time.process_time`` of this process, median of 15) of one face
  comparison: one camera frame (320 x 360) checked and decoded by ``portal.uploads``, its face
  found and encoded (dlib HOG detector, 5-point landmarks, ResNet descriptor), against the
  registered photo (354 x 496) likewise, and the distance. Target < 500 ms.
- check_ms: the CPU time of a whole check as the task does it (the photo and both frames, the
  liveness difference): ``identity._compare``.
- checks_per_s: captured checks decided a second by the deployed stack's Celery worker (Procfile.prod:
  prefork, ``--concurrency=2``): CHECKS checks stored with their snapshots, queued at once from this
  process, timed from the first queued to the last decided (polling the database). The worker's pool
  loads the models with its first task: two warm-up checks go first and are not counted.

Checked: every check passed (the same person), both distances below the threshold, liveness passed.
Without the deployed configuration (``DJANGO_SETTINGS_MODULE`` set, e.g. SQLite) only match_ms and
check_ms are printed (extra lines, not figures of record).

    make bench BENCH=identity     # or: .venv/bin/python -m benchmarks identity
"""

import statistics
import time

CHECKS = 40
WARM_UP = 2
REPEAT = 15
TIMEOUT_S = 600


def _images():
    from tests.factories.faces import face_frames, face_photo_bytes

    return face_photo_bytes(), face_frames()


def _cpu_ms(fn, *, repeat: int = REPEAT) -> float:
    fn()  # models loaded, caches warm
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def _match_once(photo: bytes, frame: bytes) -> float:
    from portal.faces import face_distance, faces_find, image_decode

    (registered,) = faces_find(image_decode(photo))
    (seen,) = faces_find(image_decode(frame))
    return face_distance(registered.descriptor, seen.descriptor)


def _prepare(count: int, photo: bytes, frames: tuple[bytes, bytes]) -> list[int]:
    """Enrollments with the face photo, each with one captured, undecided study check."""
    from datetime import timedelta
    from decimal import Decimal

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from learning.models import (
        Enrollment,
        IdentityCheck,
        IdentityContext,
        IdentityMethod,
        IdentityPreference,
        ProgrammeStudyRule,
    )
    from portal.models import User
    from registration.models import Trainee, TraineeStatus

    from .harness import bench_application

    now = timezone.now()
    programme, application = bench_application(reference="BENCH-IDENTITY", year=now.year)
    ProgrammeStudyRule.objects.create(programme=programme, daily_cap_hours=Decimal(8), identity_mode="face")
    ids = []
    for n in range(count):
        trainee = Trainee.objects.create(
            application=application,
            programme=programme,
            row_number=n,
            access_key=f"bench-identity-{n}",
            name=f"学员{n}",
            id_number=f"{n:018d}",
            mobile=f"136{n:08d}",
            certificate_type="principal",
            training_category="initial",
            status=TraineeStatus.APPROVED,
            paid_at=now,
        )
        trainee.photo.save("photo.jpg", ContentFile(photo), save=True)
        user = User.objects.create(mobile=trainee.mobile, name=trainee.name)
        enrollment = Enrollment.objects.create(
            trainee=trainee, user=user, programme=programme, opened_at=now, deadline=now + timedelta(days=30)
        )
        IdentityPreference.objects.create(enrollment=enrollment, method=IdentityMethod.FACE)
        check = IdentityCheck(
            enrollment=enrollment, context=IdentityContext.STUDY, method=IdentityMethod.FACE, captured_at=now
        )
        check.snapshot.save("first.jpg", ContentFile(frames[0]), save=False)
        check.snapshot_second.save("second.jpg", ContentFile(frames[1]), save=False)
        check.save()
        ids.append(check.pk)
    return ids


def _wait(ids: list[int]) -> float:
    from learning.models import IdentityCheck, IdentityDecision

    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        open_ = IdentityCheck.objects.filter(pk__in=ids, decision=IdentityDecision.PENDING).count()
        if not open_:
            return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"identity bench: {open_} of {len(ids)} checks not decided in {TIMEOUT_S} s")


def _verify(ids: list[int]) -> None:
    from learning.models import IdentityCheck, IdentityDecision
    from portal.faces import match_threshold

    rows = list(IdentityCheck.objects.filter(pk__in=ids).values_list("decision", "distance", "distance_second",
                                                                      "liveness_passed"))  # fmt: skip
    bad = [
        row
        for row in rows
        if row[0] != IdentityDecision.PASSED
        or not row[1] < match_threshold()
        or not row[2] < match_threshold()
        or row[3] is not True
    ]
    if len(rows) != len(ids) or bad:
        raise SystemExit(
            f"identity bench: {len(bad)} of {len(rows)} checks not passed as expected: {bad[:3]}"
        )


def run(report) -> None:
    from django.conf import settings

    from learning.services.identity import _compare
    from portal.faces import match_threshold, models_load

    photo, frames = _images()
    models_load()
    distance = _match_once(photo, frames[0])
    if not distance < match_threshold():
        raise SystemExit(f"identity bench: the same face at distance {distance:.3f}")
    report("match_ms", _cpu_ms(lambda: _match_once(photo, frames[0])), "ms")
    outcome = _compare(photo=photo, first=frames[0], second=frames[1])
    if outcome["failure"]:
        raise SystemExit(f"identity bench: the check failed: {outcome}")
    report("check_ms", _cpu_ms(lambda: _compare(photo=photo, first=frames[0], second=frames[1])), "ms")

    if settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1] != "postgresql":
        print("# identity.checks_per_s needs the deployed stack (unset DJANGO_SETTINGS_MODULE)", flush=True)
        return
    from learning.tasks import identity_check_compare

    from .harness import misc_stack

    with misc_stack("identity"):
        ids = _prepare(WARM_UP + CHECKS, photo, frames)
        warm, counted = ids[:WARM_UP], ids[WARM_UP:]
        for pk in warm:
            identity_check_compare.delay(check_id=pk)
        _wait(warm)
        start = time.monotonic()
        for pk in counted:
            identity_check_compare.delay(check_id=pk)
        end = _wait(counted)
        _verify(ids)
    report("checks_per_s", CHECKS / (end - start), "per s")
