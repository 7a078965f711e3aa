"""The serving benchmark's data and fixtures (bench_serving.py drives the load): the trainees, the
lesson and the upload forms made in the stack's database (run in a subprocess with the stack's
environment), the check afterwards, the video and the ID-card scan it streams and uploads.
"""

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

DATABASE = "portal_bench_serving"
BROKER = "redis://127.0.0.1:6379/10"
PASSWORD = "bench-serving-Pw-2026"  # noqa: S105 -- throw-away accounts of a throw-away database
VIDEO_SECONDS = 100
UPLOAD_BYTES_MAX = 5 * 1024 * 1024  # registration's own limit per image


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# The data (run with the stack's environment: production settings, the bench database)


def _prepare(spec_path: str, out_path: str) -> None:
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.core.files import File
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from benchmarks.harness import bench_application
    from learning.models import (
        Course,
        CoursePlan,
        Enrollment,
        Lesson,
        LessonKind,
        ProgrammeStudyRule,
        VideoStatus,
    )
    from portal.models import User
    from registration.consents import ATTACHMENT2_CONSENTS, consent_field_name
    from registration.models import Education, Trainee, TraineeStatus

    spec = json.loads(Path(spec_path).read_text())
    now = timezone.now()
    programme, application = bench_application(reference="BENCH-SERVING", year=now.year)
    ProgrammeStudyRule.objects.create(programme=programme, daily_cap_hours=Decimal("999"))
    course = Course.objects.create(code="bench-serving", title="基准视频课程")
    lesson = Lesson(
        course=course,
        code="bench-serving-1",
        title="基准视频课时",
        kind=LessonKind.VIDEO,
        class_hours=Decimal("100"),
        video_status=VideoStatus.READY,
        video_duration_seconds=VIDEO_SECONDS,
        video_processed_at=now,
    )
    with open(spec["video"], "rb") as handle:
        lesson.video_mp4.save("bench.mp4", File(handle), save=False)
    lesson.video.name = lesson.video_mp4.name
    lesson.save()
    plan = CoursePlan.objects.create(certificate_type="principal", training_category="initial")
    plan.courses.add(course)

    password = make_password(PASSWORD)  # one Argon2 hash for all: the same check at log-in
    learners = spec["viewers"] + spec["probes"]
    trainees = Trainee.objects.bulk_create(
        Trainee(
            application=application,
            programme=programme,
            row_number=n,
            access_key=f"bench-serving-{n}",
            name=f"学员{n}",
            id_number=f"{n:018d}",
            mobile=f"136{n:08d}",
            certificate_type="principal",
            training_category="initial",
            status=TraineeStatus.APPROVED,
            paid_at=now,
        )
        for n in range(learners)
    )
    User.objects.bulk_create(User(mobile=t.mobile, name=t.name, password=password) for t in trainees)
    by_mobile = {u.mobile: u for u in User.objects.filter(mobile__in=[t.mobile for t in trainees])}
    Enrollment.objects.bulk_create(
        Enrollment(
            trainee=t,
            user=by_mobile[t.mobile],
            programme=programme,
            opened_at=now,
            deadline=now + timedelta(days=30),
        )
        for t in trainees
    )
    store = import_module(settings.SESSION_ENGINE).SessionStore
    learners_out = []
    for n, enrollment in enumerate(Enrollment.objects.select_related("user").order_by("trainee__row_number")):
        user = enrollment.user
        row = {
            "mobile": user.mobile,
            "path": f"/learning/enrollments/{enrollment.pk}/lessons/{lesson.pk}/",
            "cookies": {},
        }
        if n >= spec["form_logins"] and n < spec["viewers"]:
            # What django.contrib.auth.login stores (see the module docstring for why).
            session = store()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            row["cookies"] = {settings.SESSION_COOKIE_NAME: session.session_key}
        learners_out.append(row)

    from PIL import Image

    def jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> ContentFile:
        out = __import__("io").BytesIO()
        Image.new("RGB", size, colour).save(out, format="JPEG", quality=85)
        return ContentFile(out.getvalue())

    uploads = []
    upload_trainees = []
    for n in range(spec["uploads"]):
        number = learners + n
        trainee = Trainee(
            application=application,
            programme=programme,
            row_number=number,
            access_key=f"bench-serving-upload-{n}-{os.urandom(6).hex()}",
            name=f"上传学员{n}",
            id_number=f"{number:018d}",
            mobile=f"135{number:08d}",
            certificate_type="principal",
            training_category="initial",
            status=TraineeStatus.SUBMITTED,
        )
        upload_trainees.append(trainee)
    Trainee.objects.bulk_create(upload_trainees)
    photo, back = jpeg((300, 420), (200, 200, 220)), jpeg((856, 540), (180, 190, 200))
    first = Trainee.objects.get(access_key=upload_trainees[0].access_key)
    first.photo.save("photo.jpg", photo, save=False)
    first.id_back.save("back.jpg", back, save=False)
    Trainee.objects.filter(access_key__in=[t.access_key for t in upload_trainees]).update(
        photo=first.photo.name, id_back=first.id_back.name
    )
    for n, trainee in enumerate(upload_trainees):
        uploads.append(
            {"access_key": trainee.access_key, "name": trainee.name, "ip": f"10.20.{n // 250}.{n % 250 + 1}"}
        )
    fields = {
        "education": Education.values[0],
        "safety_years": "5",
        "work_unit": "基准测试有限公司",
        "work_unit_address": "示例路 1 号",
        "mailing_address": "示例路 1 号",
        "landline": "",
        "email": "",
        "work_history": "2020-2026 基准测试有限公司 安全员",
        **{consent_field_name(kind): "on" for kind in ATTACHMENT2_CONSENTS},
    }
    out = {"learners": learners_out, "uploads": uploads, "fields": fields, "lesson": lesson.pk}
    Path(out_path).write_text(json.dumps(out))


def _verify(spec_path: str, out_path: str) -> None:
    """After the run: which upload trainees have their ID card front stored, and study credited."""
    import django

    django.setup()
    from learning.models import LessonProgress
    from registration.models import Trainee

    spec = json.loads(Path(spec_path).read_text())
    keys = spec["access_keys"]
    stored = (
        Trainee.objects.filter(access_key__in=keys).exclude(id_front="").exclude(declared_at=None).count()
    )
    credited = sum(
        LessonProgress.objects.filter(enrollment__user__mobile__in=spec["probe_mobiles"]).values_list(
            "credited_ms", flat=True
        )
    )
    Path(out_path).write_text(json.dumps({"stored": stored, "credited_ms": credited}))


# ---------------------------------------------------------------------------------------------
# The run


def _database_drop() -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        connection.close()


def _redis_flush() -> None:
    import redis

    redis.Redis.from_url(BROKER).flushdb()


def _video_make(path: Path) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise BenchError("ffmpeg is not installed (make system-deps installs it)")
    subprocess.run(  # noqa: S603
        [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", f"testsrc2=size=640x360:rate=25:duration={VIDEO_SECONDS}", "-vf", "noise=alls=20:allf=t",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2400k", "-minrate", "2400k",
            "-maxrate", "2400k", "-bufsize", "1200k", "-x264-params", "nal-hrd=cbr",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path),
        ],
        check=True,
    )  # fmt: skip


def _scan_make(path: Path) -> None:
    """A phone photo of an ID card: ~4.7 MB of JPEG (noise keeps it large), under the 5 MB limit."""
    from PIL import Image

    rng = random.Random(7)
    width, height = 2400, 1800
    quality = 92
    while True:
        noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
        base = Image.new("RGB", (width, height), (170, 180, 200))
        Image.blend(base, noise, 0.5).save(path, format="JPEG", quality=quality)
        size = path.stat().st_size
        if 4_400_000 <= size <= UPLOAD_BYTES_MAX - 200_000:
            return
        quality += -3 if size > UPLOAD_BYTES_MAX - 200_000 else 2
        if not 40 <= quality <= 98:
            raise BenchError(f"could not make a ~4.7 MB JPEG (last {size} bytes)")
