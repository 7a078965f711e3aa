"""Object storage (``PORTAL_STORAGE=s3``) against a local S3-API server (moto, on loopback, started by
the tests): uploads and generated files land in the bucket, permitted users are redirected to a
short-lived presigned URL that the server then answers, and backup / restore cover the bucket."""

import hashlib
import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files import File
from django.urls import reverse

from certificates.services.issue import certificates_issue
from learning import video
from learning.models import VideoStatus
from portal.roles import REVIEWER
from tests.factories import (
    ATTACHMENT2_CONSENTS_POST,
    EnrollmentFactory,
    LessonFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
    image_bytes,
    passed_enrollment_make,
    plan_with,
    upload,
)
from tests.s3 import moto_server_fixture, s3_fixture  # noqa: F401 (fixtures)

BASE = Path(__file__).resolve().parents[2]


def _fetch(url: str, **headers) -> tuple[int, dict, bytes]:
    """GET from the local S3 server (loopback only)."""
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (a loopback URL checked above)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def _presigned(response, s3) -> dict:
    """The redirect to the bucket: its query (expiry, signature)."""
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert location.startswith(f"{s3.endpoint_url}/{s3.name}/private/")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@pytest.mark.django_db
def test_signup_photo_goes_to_the_bucket_and_downloads_by_presigned_url(client, s3, settings):
    trainee = TraineeFactory(application__programme=ProgrammeFactory())
    data = {
        "education": "bachelor",
        "safety_years": "6",
        "work_unit": "广州示例贸易有限公司",
        "work_unit_address": "广州市天河区示例大道 100 号",
        "mailing_address": "广州市天河区示例大道 100 号",
        "landline": "020-83331234",
        "email": "",
        "work_history": "2015-2025 广州示例贸易有限公司 安全主任",
        "declaration_name": trainee.name,
        "photo": upload("photo.png", content=image_bytes(354, 496, fmt="PNG"), content_type="image/png"),
        "id_front": upload("front.jpg", content=image_bytes(856, 540)),
        "id_back": upload("back.jpg", content=image_bytes(856, 540)),
        **ATTACHMENT2_CONSENTS_POST,
    }
    response = client.post(reverse("registration:attachment2", args=[trainee.access_key]), data)
    assert response.status_code == 302
    trainee.refresh_from_db()
    names = [trainee.photo.name, trainee.id_front.name, trainee.id_back.name]
    assert s3.keys("private/") == sorted(f"private/{name}" for name in names)
    assert s3.read(f"private/{trainee.photo.name}").startswith(b"\xff\xd8")  # re-encoded as JPEG
    assert not Path(settings.PRIVATE_MEDIA_ROOT, trainee.photo.name).exists()  # nothing on local disk

    # the trainee's own link: redirected to a URL valid 5 minutes, that the bucket answers
    redirect = client.get(reverse("registration:trainee_document", args=[trainee.access_key, "photo"]))
    query = _presigned(redirect, s3)
    assert query["X-Amz-Expires"] == "300" and query["X-Amz-Signature"]
    status, headers, body = _fetch(redirect["Location"])
    assert status == 200 and body == s3.read(f"private/{trainee.photo.name}")
    assert headers["content-type"] == "image/jpeg"
    assert headers["content-disposition"] == 'inline; filename="photo.jpg"'

    # an ID copy for a reviewer, after the same permission check (others get 403, no URL)
    staff_url = reverse("registration:staff_document", args=[trainee.pk, "id_front"])
    client.force_login(StaffFactory())
    assert client.get(staff_url).status_code == 403
    client.force_login(StaffFactory(role=REVIEWER))
    redirect = client.get(staff_url)
    _presigned(redirect, s3)
    assert _fetch(redirect["Location"])[2] == s3.read(f"private/{trainee.id_front.name}")


@pytest.mark.django_db
def test_certificate_pdf_is_rendered_into_the_bucket_and_downloaded_from_it(client, s3):
    enrollment = passed_enrollment_make(name="王𠮷")
    (certificate,) = certificates_issue(enrollment_ids=[enrollment.pk]).issued
    from certificates.tasks import certificate_render

    assert certificate_render.delay(certificate_id=certificate.pk).get() is True
    certificate.refresh_from_db()
    key = f"private/{certificate.pdf.name}"
    assert key in s3.keys("private/certificates/") and s3.read(key).startswith(b"%PDF-")
    # the certificate's own copy of the photo, made while rendering, is in the bucket too
    assert f"private/{certificate.photo.name}" in s3.keys("private/")

    client.force_login(enrollment.user)
    redirect = client.get(reverse("certificates:download", args=[certificate.pk]))
    _presigned(redirect, s3)
    status, headers, body = _fetch(redirect["Location"])
    assert status == 200 and body == s3.read(key)
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("attachment;")
    assert f"certificate-{certificate.number}.pdf" in headers["content-disposition"]


@pytest.mark.django_db
@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs Debian's ffmpeg")
def test_lesson_video_is_processed_from_and_into_the_bucket_and_seeks_there(client, s3, tmp_path):
    from tests.learning.videos import codecs, video_make

    source = video_make(tmp_path / "lesson.mp4", seconds=2)
    lesson = LessonFactory(kind="video", body_html="")
    with source.open("rb") as handle:
        lesson.video.save("lesson.mp4", File(handle), save=True)
    plan_with(lesson.course)
    video.lesson_video_process(lesson_id=lesson.pk)  # reads the upload through a temporary copy
    lesson.refresh_from_db()
    assert lesson.video_status == VideoStatus.READY and lesson.video_duration_seconds == 2
    assert s3.keys("private/learning/") == sorted(
        f"private/{name}" for name in (lesson.video.name, lesson.video_mp4.name, lesson.video_poster.name)
    )
    processed = tmp_path / "processed.mp4"
    processed.write_bytes(s3.read(f"private/{lesson.video_mp4.name}"))
    assert codecs(processed) == {"video": "h264", "audio": "aac"}

    enrollment = EnrollmentFactory()
    client.force_login(enrollment.user)
    redirect = client.get(reverse("learning:lesson_media", args=[enrollment.pk, lesson.pk, "video"]))
    query = _presigned(redirect, s3)
    assert query["X-Amz-Expires"] == "14400"  # a player keeps asking for ranges while it plays
    status, headers, body = _fetch(redirect["Location"], Range="bytes=100-199")
    assert status == 206 and body == processed.read_bytes()[100:200]
    assert headers["content-type"] == "video/mp4"


SNAPSHOT = """
import hashlib, json
from django.core.files.storage import storages
from portal.models import User
out = {"users": sorted(User.objects.values_list("mobile", flat=True)), "files": {}}
for alias in ("default", "private"):
    storage = storages[alias]
    for summary in storage.bucket.objects.filter(Prefix=storage.location + "/"):
        out["files"][summary.key] = hashlib.sha256(summary.get()["Body"].read()).hexdigest()
print(json.dumps(out))
"""

SEED = """
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from portal.models import User
User.objects.create_user(mobile="13812345678", name="张三", password="pw-123456789")
storages["private"].save("registration/photos/a.jpg", ContentFile(b"\\xff\\xd8photo"))
storages["private"].save("certificates/pdf/AQ2026000001.pdf", ContentFile(b"%PDF-1.7 " * 1000))
storages["default"].save("payments/qr/b.png", ContentFile("文件".encode()))
"""

CHANGE = """
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from portal.models import User
User.objects.all().delete()
storages["private"].delete("registration/photos/a.jpg")
storages["private"].save("registration/photos/later.jpg", ContentFile(b"added after the backup"))
"""


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _snapshot(env: dict) -> dict:
    lines = _manage(env, "shell", "--no-imports", "-c", SNAPSHOT).splitlines()
    return json.loads(next(line for line in reversed(lines) if line.startswith("{")))


def _env(tmp_path: Path, bucket) -> dict:
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "var" / "private"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        **bucket.env(),
    }


def test_backup_and_restore_cover_the_bucket(tmp_path, s3):
    env = _env(tmp_path, s3)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "shell", "--no-imports", "-c", SEED)
    before = _snapshot(env)
    assert before["users"] == ["13812345678"] and len(before["files"]) == 3

    folder = Path(_manage(env, "backup", "--target", str(tmp_path / "backups")).strip().splitlines()[-1])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["file_storage"] == {"media": "s3", "private": "s3"}
    assert not (tmp_path / "var" / "private").exists()  # nothing went through the local disk

    _manage(env, "shell", "--no-imports", "-c", CHANGE)
    changed = _snapshot(env)
    assert changed["users"] == [] and "private/registration/photos/later.jpg" in changed["files"]

    _manage(env, "restore", str(folder), "--yes")
    assert _snapshot(env) == before  # the object added later is gone, the deleted one is back


def test_a_backup_made_on_disk_restores_into_the_bucket(tmp_path, s3):
    """The way to move to object storage: back up on disk, switch the setting, restore."""
    disk = {key: value for key, value in _env(tmp_path, s3).items() if not key.startswith("PORTAL_S3")}
    disk["PORTAL_STORAGE"] = "local"
    _manage(disk, "migrate", "--noinput", "-v", "0")
    _manage(disk, "shell", "--no-imports", "-c", SEED)
    photo = next((tmp_path / "var" / "private" / "registration" / "photos").iterdir())
    folder = Path(_manage(disk, "backup", "--target", str(tmp_path / "backups")).strip().splitlines()[-1])

    bucket_env = _env(tmp_path, s3)
    _manage(bucket_env, "restore", str(folder), "--yes")
    restored = _snapshot(bucket_env)
    assert restored["users"] == ["13812345678"]
    assert (
        restored["files"][f"private/registration/photos/{photo.name}"]
        == hashlib.sha256(photo.read_bytes()).hexdigest()
    )
    assert sorted(restored["files"]) == sorted(
        [
            f"private/registration/photos/{photo.name}",
            *[
                f"private/certificates/pdf/{p.name}"
                for p in (tmp_path / "var/private/certificates/pdf").iterdir()
            ],
            *[f"media/payments/qr/{p.name}" for p in (tmp_path / "var/media/payments/qr").iterdir()],
        ]
    )


PRINT_SETTINGS = """
import json
from django.conf import settings
from django.core.files.storage import storages
print(json.dumps({
    "private": type(storages["private"]).__name__,
    "location": storages["private"].location,
    "media_src": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["media-src"],
    "frame_src": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].get("frame-src"),
}))
"""


def test_settings_switch_to_the_bucket_and_refuse_a_wrong_setup():
    from tests.portal.test_settings import PROD_ENV

    env = {
        **PROD_ENV,
        "PORTAL_STORAGE": "s3",
        "PORTAL_S3_BUCKET": "peixun-files",
        "PORTAL_S3_ENDPOINT_URL": "https://oss-cn-guangzhou.aliyuncs.com",
        "PORTAL_S3_ADDRESSING_STYLE": "virtual",
    }
    shown = json.loads(_manage(env, "shell", "--no-imports", "-c", PRINT_SETTINGS).strip().splitlines()[-1])
    origin = "https://peixun-files.oss-cn-guangzhou.aliyuncs.com"
    assert shown == {
        "private": "S3Storage",
        "location": "private",
        "media_src": ["'self'", "blob:", origin],
        "frame_src": ["'self'", origin],
    }
    for wrong, says in (
        ({"PORTAL_S3_BUCKET": ""}, "Set PORTAL_S3_BUCKET for PORTAL_STORAGE=s3."),
        ({"PORTAL_STORAGE": "nfs"}, 'PORTAL_STORAGE must be "local" or "s3".'),
    ):
        result = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=BASE,
            env={**env, **wrong},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode != 0 and says in result.stderr
