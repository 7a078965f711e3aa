"""Lesson videos for phones (learning/video.py), with real tiny videos made by ffmpeg: the upload is
probed, converted to a faststart H.264/AAC MP4 with a poster and the real duration; bad files are
refused with the message; the task is idempotent; trainees see "processing" until it is ready."""

import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from learning import video
from learning.models import Lesson, LessonProgress, VideoStatus
from learning.tasks import lesson_video_process, lesson_videos_sweep
from portal.models import AuditEntry
from tests.factories import CourseFactory, EnrollmentFactory, LessonFactory, StaffFactory, plan_with

from .study import Learner
from .videos import codecs, probe, top_level_atoms, video_make

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs Debian's ffmpeg (scripts/system_deps.sh)"),
]

NOT_A_VIDEO = "该文件不是可以播放的视频。请上传视频文件（例如 MP4、MOV 或 WebM）。"
PROCESSING_TEXT = "视频正在处理，处理完成后可在任何手机上播放。请几分钟后再来。"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    text = folder / "notes.mp4"
    text.write_text("这不是视频，只是改了扩展名的文本文件。\n" * 20, encoding="utf-8")
    playlist = folder / "playlist.mp4"  # an HLS playlist pointing at a local file, named .mp4
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/etc/passwd\n#EXT-X-ENDLIST\n")
    return {
        # MPEG-4 part 2 video with the index at the end, as many editors write it
        "plain": video_make(folder / "plain.mp4", seconds=3),
        # larger than 720p, VP8/Vorbis in WebM
        "big": video_make(
            folder / "big.webm",
            seconds=2,
            size="1920x1080",
            rate=10,
            video_codec="libvpx",
            audio_codec="libvorbis",
        ),
        "text": text,
        "playlist": playlist,
    }


def _video_lesson(path: Path, **fields) -> Lesson:
    lesson = LessonFactory(kind="video", class_hours=Decimal("1"), body_html="", **fields)
    with path.open("rb") as handle:
        lesson.video.save(f"upload{path.suffix}", File(handle), save=True)
    plan_with(lesson.course)
    return lesson


def _stored(field_file, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    with field_file.storage.open(field_file.name, "rb") as handle:
        target.write_bytes(handle.read())
    return target


def test_processing_makes_a_faststart_h264_aac_mp4_a_poster_and_records_the_duration(clips, tmp_path):
    assert top_level_atoms(clips["plain"]).index("mdat") < top_level_atoms(clips["plain"]).index("moov")
    lesson = _video_lesson(clips["plain"], video_duration_seconds=999)
    assert lesson_video_process.delay(lesson_id=lesson.pk).get() == "ready"
    lesson.refresh_from_db()
    assert lesson.video_status == VideoStatus.READY and lesson.video_error == ""
    assert lesson.video_duration_seconds == 3  # probed, not the 999 typed before
    assert lesson.video.name and lesson.video_mp4.name != lesson.video.name  # the upload is kept
    mp4 = _stored(lesson.video_mp4, tmp_path, "out.mp4")
    assert codecs(mp4) == {"video": "h264", "audio": "aac"}
    atoms = top_level_atoms(mp4)
    assert atoms.index("moov") < atoms.index("mdat")  # faststart
    stream = next(s for s in probe(mp4)["streams"] if s["codec_type"] == "video")
    assert (stream["width"], stream["height"], stream["profile"], stream["pix_fmt"]) == (
        320,
        240,
        "Main",
        "yuv420p",
    )
    assert abs(float(probe(mp4)["format"]["duration"]) - 3) < 0.2
    poster = _stored(lesson.video_poster, tmp_path, "poster.jpg")
    with Image.open(poster) as image:
        assert image.format == "JPEG" and image.size == (320, 240)
    entries = AuditEntry.objects.filter(target_id=str(lesson.pk), action__startswith="lesson.video")
    actions = list(entries.order_by("created_at", "pk").values_list("action", flat=True))
    assert actions == ["lesson.video_processing", "lesson.video_ready"]


def test_large_webm_is_scaled_to_720p(clips, tmp_path):
    lesson = _video_lesson(clips["big"])
    video.lesson_video_process(lesson_id=lesson.pk)
    lesson.refresh_from_db()
    mp4 = _stored(lesson.video_mp4, tmp_path, "big.mp4")
    stream = next(s for s in probe(mp4)["streams"] if s["codec_type"] == "video")
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 1280, 720)
    assert codecs(mp4)["audio"] == "aac" and lesson.video_duration_seconds == 2


def test_the_task_run_twice_does_the_work_once(clips, monkeypatch):
    lesson = _video_lesson(clips["plain"])
    calls = []
    real_run = subprocess.run

    def counting_run(args, **kwargs):
        calls.append(Path(args[0]).name)
        return real_run(args, **kwargs)

    monkeypatch.setattr(video.subprocess, "run", counting_run)
    lesson_video_process.delay(lesson_id=lesson.pk)
    first = Lesson.objects.get(pk=lesson.pk)
    assert calls == ["ffprobe", "ffmpeg", "ffprobe", "ffmpeg"]  # probe, convert, check, poster
    assert lesson_video_process.delay(lesson_id=lesson.pk).get() == "ready"
    again = Lesson.objects.get(pk=lesson.pk)
    assert len(calls) == 4
    assert (again.video_mp4.name, again.video_poster.name, again.video_processed_at) == (
        first.video_mp4.name,
        first.video_poster.name,
        first.video_processed_at,
    )
    assert AuditEntry.objects.filter(target_id=str(lesson.pk), action="lesson.video_ready").count() == 1
    # another worker holding it (a fresh claim) is left alone too
    Lesson.objects.filter(pk=lesson.pk).update(
        video_status=VideoStatus.PROCESSING, video_started_at=timezone.now()
    )
    video.lesson_video_process(lesson_id=lesson.pk)
    assert len(calls) == 4


@pytest.mark.parametrize("clip", ["text", "playlist"])
def test_a_file_that_is_not_a_playable_video_is_refused_and_staff_see_why(client, clips, clip):
    lesson = _video_lesson(clips[clip])
    lesson_video_process.delay(lesson_id=lesson.pk)
    lesson.refresh_from_db()
    assert lesson.video_status == VideoStatus.FAILED and lesson.video_error == "not_a_video"
    assert not lesson.video_mp4 and not lesson.video_playable
    assert AuditEntry.objects.filter(target_id=str(lesson.pk), action="lesson.video_failed").exists()
    client.force_login(StaffFactory(role="course_admin"))
    listing = client.get(reverse("admin:learning_lesson_changelist"), {"video_status__exact": "failed"})
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [lesson]
    assert f"失败: {NOT_A_VIDEO}" in listing.content.decode()
    page = client.get(reverse("admin:learning_lesson_change", args=[lesson.pk])).content.decode()
    assert NOT_A_VIDEO in page and "Invalid" in page  # ffprobe's own words for staff
    # a second run does not try again; staff ask for it with the admin action
    video.lesson_video_process(lesson_id=lesson.pk)
    assert AuditEntry.objects.filter(target_id=str(lesson.pk), action="lesson.video_processing").count() == 1


def _admin_post(lesson_fields: dict, upload) -> dict:
    return {**lesson_fields, "kind": "video", "class_hours": "1", "is_active": "on", "video": upload}


def test_the_admin_form_refuses_a_text_file_named_mp4_and_saves_nothing(client, clips):
    course = CourseFactory()
    client.force_login(StaffFactory(role="course_admin"))
    upload = SimpleUploadedFile("第一讲.mp4", clips["text"].read_bytes(), content_type="video/mp4")
    response = client.post(
        reverse("admin:learning_lesson_add"),
        _admin_post({"course": course.pk, "code": "bad-video", "order": 1, "title": "坏视频"}, upload),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["video"] == [NOT_A_VIDEO]
    assert not Lesson.objects.filter(code="bad-video").exists()


def test_staff_upload_is_processed_and_trainees_see_processing_until_ready(
    client, clips, django_capture_on_commit_callbacks
):
    course = CourseFactory()
    plan_with(course)
    staff = StaffFactory(role="course_admin")
    client.force_login(staff)
    upload = SimpleUploadedFile("第一讲.mp4", clips["plain"].read_bytes(), content_type="video/mp4")
    data = _admin_post({"course": course.pk, "code": "v1", "order": 1, "title": "第一讲"}, upload)
    data["video_duration_seconds"] = "12345"  # no longer typed by hand: ignored
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("admin:learning_lesson_add"), data, follow=True)
    assert response.status_code == 200
    assert "视频正在转换为手机可播放的格式；转换完成前，学员看到的是“处理中”。" in [
        str(m) for m in response.context["messages"]
    ]
    lesson = Lesson.objects.get(code="v1")
    assert lesson.video_status == VideoStatus.PENDING and lesson.video_duration_seconds is None
    submitted = AuditEntry.objects.get(target_id=str(lesson.pk), action="lesson.video_submitted")
    assert submitted.actor == staff and submitted.new_value["video_status"] == "pending"

    enrollment = EnrollmentFactory()
    trainee = Client()
    trainee.force_login(enrollment.user)
    page_url = reverse("learning:lesson", args=[enrollment.pk, lesson.pk])
    media_url = reverse("learning:lesson_media", args=[enrollment.pk, lesson.pk, "video"])
    html = trainee.get(page_url).content.decode()
    assert PROCESSING_TEXT in html and "<video" not in html and 'data-can-study="0"' in html
    assert trainee.get(media_url).status_code == 404

    for callback in queued:  # the task queued on commit
        callback()
    lesson.refresh_from_db()
    assert lesson.video_status == VideoStatus.READY
    html = trainee.get(page_url).content.decode()
    assert PROCESSING_TEXT not in html and 'data-can-study="1"' in html
    poster_url = reverse("learning:lesson_media", args=[enrollment.pk, lesson.pk, "poster"])
    assert f'src="{media_url}"' in html and f'poster="{poster_url}"' in html
    played = trainee.get(media_url)
    with lesson.video_mp4.open("rb") as handle:
        assert b"".join(played.streaming_content) == handle.read()
    assert played["Content-Type"] == "video/mp4"
    assert trainee.get(poster_url)["Content-Type"] == "image/jpeg"


def test_the_study_rules_use_the_probed_duration_of_the_processed_file(clips, settings):
    settings.LEARNING_PRESENCE_MIN_MINUTES = settings.LEARNING_PRESENCE_MAX_MINUTES = 600
    lesson = _video_lesson(clips["plain"], video_duration_seconds=3600)
    video.lesson_video_process(lesson_id=lesson.pk)
    enrollment = EnrollmentFactory()
    client = Client()
    client.force_login(enrollment.user)
    import time_machine

    with time_machine.travel(timezone.now(), tick=False) as clock:
        me = Learner(client, enrollment, lesson, clock=clock)
        assert me.start().status_code == 200
        clock.shift(timedelta(seconds=15))
        # the page claims 15 s played from 0 s: the processed video is 3 s long, so 3 s count
        assert me.beat(played=[[0, 15]]).json()["credited_ms"] == 3_000
        clock.shift(timedelta(seconds=15))
        assert me.beat(played=[[2, 9]]).json()["credited_ms"] == 1_000
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=lesson)
    assert progress.credited_ms == 4_000


def test_process_again_action_and_the_sweep_requeue_lost_work(
    client, clips, django_capture_on_commit_callbacks
):
    lesson = _video_lesson(clips["plain"])
    Lesson.objects.filter(pk=lesson.pk).update(
        video_status=VideoStatus.PENDING, video_started_at=timezone.now() - timedelta(minutes=11)
    )
    assert lesson_videos_sweep.delay().get() == 1  # its task was lost: queued (and run here) again
    lesson.refresh_from_db()
    assert lesson.video_status == VideoStatus.READY
    assert lesson_videos_sweep.delay().get() == 0
    first_mp4 = lesson.video_mp4.name
    client.force_login(StaffFactory(role="course_admin"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:learning_lesson_changelist"),
            {"action": "video_process_again", "_selected_action": [lesson.pk]},
            follow=True,
        )
    assert "将重新处理的视频：1 个。" in [str(m) for m in response.context["messages"]]
    lesson.refresh_from_db()
    assert lesson.video_status == VideoStatus.READY and lesson.video_mp4.name != first_mp4
    assert not lesson.video.storage.exists(first_mp4)  # the old phone version is removed
    actions = AuditEntry.objects.filter(target_id=str(lesson.pk)).values_list("action", flat=True)
    assert list(actions).count("lesson.video_submitted") == 1
