"""Lesson videos that play on any phone.

When staff upload a lesson video, :func:`lesson_video_submit` marks it "waiting to be processed"
and queues ``learning.tasks.lesson_video_process``, which runs :func:`lesson_video_process`:

1. ``ffprobe`` reads the upload; a file that is not a playable video is refused (the admin form
   runs the same probe first, so staff usually see the refusal at once);
2. ``ffmpeg`` converts it to H.264 (main profile, at most 1280×720, CRF 26, ``veryfast``) with AAC
   sound in an MP4 whose index comes first (``-movflags +faststart``: phones start playing and
   seeking before the whole file arrives), metadata (e.g. where it was filmed) dropped;
3. the result is probed again: its duration is the one the study rules use
   (``Lesson.video_duration_seconds``, measured, never typed by hand), and a poster JPEG is taken from it.

Until the lesson is ready trainees see "processing" instead of the player; staff see the state and
a failure's reason in admin. ffmpeg only reads container formats of real videos and only local files
(``-format_whitelist`` / ``-protocol_whitelist``): a playlist that points at other files or
addresses is refused. Works with any storage: a local file is read in place, anything else (object
storage) through a temporary copy.

One module (just under 600 lines): the ffmpeg/ffprobe layer (top) and the processing service
(bottom, after the section line) are one feature whose error codes (``VideoError``) and limits both
halves use; should it grow, the service half is the one to move to ``learning/services/videos.py``.
"""

import json
import logging
import math
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.services import audit_record

from .conf import conf
from .models import Lesson, LessonKind, VideoStatus, lesson_upload_to

logger = logging.getLogger("learning")

# Demuxers ffmpeg may use on an upload (MP4 / MOV / 3GP, MKV / WebM, AVI, MPEG-PS / TS, FLV, WMV).
INPUT_FORMATS = "mov,matroska,avi,mpeg,mpegts,flv,asf"
PROBE_TIMEOUT_SECONDS = 120

# The refusals, with the code kept on the lesson (``video_error``) so each reader sees their language.
MESSAGES = {
    "not_a_video": _(
        "This file is not a video that can be played. Upload a video file (for example MP4, MOV or WebM)."
    ),
    "no_picture": _("This file has no moving picture. Upload a video, not a sound recording or an image."),
    "too_short": _("The video is shorter than one second, or its length cannot be read."),
    "convert_failed": _(
        "The video could not be converted for phones. Check that it plays on a computer, export it "
        "again and upload it again."
    ),
    "timeout": _("Converting the video took too long and was stopped. Upload a shorter video."),
    "no_ffmpeg": _("Videos cannot be processed: ffmpeg is not installed on the server."),
    "missing": _("The uploaded video file is missing from the storage. Upload it again."),
}


def video_error_message(code: str) -> str:
    return str(MESSAGES.get(code, MESSAGES["convert_failed"])) if code else ""


class VideoError(ValidationError):
    """A refusal: ``code`` is a key of :data:`MESSAGES`, ``detail`` what the tool said (for staff)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(MESSAGES[code], code=code)
        self.detail = detail[-2000:]


@dataclass(frozen=True)
class VideoProbe:
    duration: float
    width: int
    height: int
    video_codec: str
    audio_codec: str  # "" without sound
    format_name: str


def _tool(name: str) -> str:
    return str(conf(f"LEARNING_VIDEO_{name.upper()}"))


def _lower_priority() -> None:  # pragma: no cover - runs in the child process
    os.nice(10)  # converting must not slow the web pages down


def _run(args: list[str], *, timeout: int, background: bool = False) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(  # noqa: S603 (fixed argv, no shell; paths are our own temporary files)
            args,
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            preexec_fn=_lower_priority if background else None,
        )
    except FileNotFoundError as exc:
        raise VideoError("no_ffmpeg", str(exc)) from exc
    except subprocess.TimeoutExpired as exc:
        raise VideoError("timeout", f"{Path(args[0]).name} ran longer than {timeout} s") from exc


def _stderr(result: subprocess.CompletedProcess) -> str:
    return result.stderr.decode("utf-8", "replace").strip()


def video_probe(path: str | os.PathLike) -> VideoProbe:
    """What ffprobe reads from a file; :class:`VideoError` when it is not a playable video."""
    result = _run(
        [
            _tool("ffprobe"),
            "-v",
            "error",
            "-format_whitelist",
            INPUT_FORMATS,
            "-protocol_whitelist",
            "file",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            "-i",
            os.fspath(path),
        ],
        timeout=PROBE_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        raise VideoError("not_a_video", _stderr(result))
    try:
        data = json.loads(result.stdout or b"{}")
    except ValueError as exc:
        raise VideoError("not_a_video", str(exc)) from exc
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    pictures = [
        s
        for s in streams
        if s.get("codec_type") == "video"
        and not (s.get("disposition") or {}).get("attached_pic")
        and int(s.get("width") or 0) > 0
        and int(s.get("height") or 0) > 0
    ]
    if not pictures:
        raise VideoError("no_picture", f"streams: {[s.get('codec_type') for s in streams]}")
    picture = pictures[0]
    sounds = [s for s in streams if s.get("codec_type") == "audio"]
    duration = _seconds(fmt.get("duration")) or _seconds(picture.get("duration"))
    if not duration or duration < 1:
        raise VideoError("too_short", f"duration: {fmt.get('duration')}")
    return VideoProbe(
        duration=duration,
        width=int(picture["width"]),
        height=int(picture["height"]),
        video_codec=str(picture.get("codec_name") or ""),
        audio_codec=str(sounds[0].get("codec_name") or "") if sounds else "",
        format_name=str(fmt.get("format_name") or ""),
    )


def _seconds(value) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def upload_probe(upload) -> VideoProbe:
    """Probe an uploaded file of a form (on disk already above the in-memory limit, else copied)."""
    if hasattr(upload, "temporary_file_path"):
        return video_probe(upload.temporary_file_path())
    with tempfile.NamedTemporaryFile(prefix="lesson-upload-", suffix=".video") as copy:
        upload.seek(0)
        shutil.copyfileobj(upload, copy)
        copy.flush()
        upload.seek(0)
        return video_probe(copy.name)


def mp4_boxes(path: str | os.PathLike) -> list[str]:
    """The top-level boxes of an MP4 file, in file order (``moov`` before ``mdat`` = faststart)."""
    kinds = []
    with open(path, "rb") as handle:
        while len(kinds) < 64:
            header = handle.read(8)
            if len(header) < 8:
                break
            size, kind = struct.unpack(">I4s", header)
            kinds.append(kind.decode("latin-1"))
            if size == 1:
                size = struct.unpack(">Q", handle.read(8))[0] - 16
            elif size == 0:
                break
            else:
                size -= 8
            if size < 0:
                break
            handle.seek(size, os.SEEK_CUR)
    return kinds


def _scale_filter() -> str:
    long_side, short_side = conf("LEARNING_VIDEO_MAX_SIZE")
    # Landscape fits long×short, portrait short×long; never enlarged; even sizes (H.264 4:2:0).
    return (
        f"scale=w='min(iw,if(gte(iw,ih),{long_side},{short_side}))'"
        f":h='min(ih,if(gte(iw,ih),{short_side},{long_side}))'"
        ":force_original_aspect_ratio=decrease:force_divisible_by=2,format=yuv420p"
    )


def video_transcode(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """The phone version: H.264 main / AAC stereo MP4 with the index first, at most 30 frames a second."""
    args = [
        _tool("ffmpeg"),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-format_whitelist",
        INPUT_FORMATS,
        "-protocol_whitelist",
        "file",
        "-i",
        os.fspath(source),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-sn",
        "-dn",
        "-vf",
        _scale_filter(),
        "-fpsmax",
        "30",
        "-c:v",
        "libx264",
        "-preset",
        str(conf("LEARNING_VIDEO_PRESET")),
        "-crf",
        str(conf("LEARNING_VIDEO_CRF")),
        "-profile:v",
        "main",
        "-maxrate",
        "2500k",
        "-bufsize",
        "5000k",
        "-g",
        "60",
        "-c:a",
        "aac",
        "-b:a",
        str(conf("LEARNING_VIDEO_AUDIO_BITRATE")),
        "-ac",
        "2",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        os.fspath(target),
    ]
    result = _run(args, timeout=int(conf("LEARNING_VIDEO_TIMEOUT_SECONDS")), background=True)
    if result.returncode != 0:
        raise VideoError("convert_failed", _stderr(result))


def video_poster_make(source: str | os.PathLike, target: str | os.PathLike, *, duration: float) -> None:
    """A JPEG of one frame (10 % into the video, at most 5 s in: past a black opening)."""
    at = f"{min(5.0, duration * 0.1):.3f}"
    result = _run(
        [
            _tool("ffmpeg"),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-ss",
            at,
            "-format_whitelist",
            "mov",
            "-protocol_whitelist",
            "file",
            "-i",
            os.fspath(source),
            "-frames:v",
            "1",
            "-q:v",
            "4",
            "-f",
            "image2",
            os.fspath(target),
        ],
        timeout=PROBE_TIMEOUT_SECONDS,
    )
    if result.returncode != 0 or not Path(target).exists():
        raise VideoError("convert_failed", _stderr(result))


@dataclass(frozen=True)
class PreparedVideo:
    mp4: Path
    poster: Path
    duration_seconds: int


def video_prepare(source: str | os.PathLike, workdir: str | os.PathLike) -> PreparedVideo:
    """Probe, convert, check the result and take the poster; files land in ``workdir``."""
    video_probe(source)  # refuses what is not a playable video before converting anything
    mp4 = Path(workdir) / "video.mp4"
    poster = Path(workdir) / "poster.jpg"
    video_transcode(source, mp4)
    result = video_probe(mp4)
    boxes = mp4_boxes(mp4)
    if (
        result.video_codec != "h264"
        or result.audio_codec not in ("", "aac")
        or "moov" not in boxes
        or "mdat" not in boxes
        or boxes.index("moov") > boxes.index("mdat")
    ):
        raise VideoError(
            "convert_failed", f"unexpected result: {result.video_codec}/{result.audio_codec} {boxes}"
        )
    video_poster_make(mp4, poster, duration=result.duration)
    return PreparedVideo(mp4=mp4, poster=poster, duration_seconds=max(1, round(result.duration)))


# ---------------------------------------------------------------------------------------------
# Services: one per transition (submitted → processing → ready / failed), each locks, checks,
# saves and audits in one transaction.


def _claim_expired(lesson: Lesson, now) -> bool:
    limit = timedelta(seconds=int(conf("LEARNING_VIDEO_TIMEOUT_SECONDS")) + 600)
    return lesson.video_started_at is None or now - lesson.video_started_at > limit


def _delete_later(storage, names: list[str]) -> None:
    names = [name for name in names if name]

    def delete() -> None:
        for name in names:
            try:
                storage.delete(name)
            except Exception:  # a file left behind must not fail the change
                logger.exception("Could not delete %s", name)

    if names:
        transaction.on_commit(delete)


def lesson_video_submit(*, lesson: Lesson, actor=None, ip: str | None = None) -> Lesson:
    """The lesson's video was uploaded (or staff ask to process it again): wait for processing.

    Trainees see "processing" until the task has made the phone version; the earlier phone version
    and poster are deleted after the commit.
    """
    with transaction.atomic():
        locked = Lesson.objects.select_for_update().get(pk=lesson.pk)
        if locked.kind != LessonKind.VIDEO or not locked.video:
            raise ValidationError(_("Only a video lesson with a video file can be processed."))
        old = {"video_status": locked.video_status, "video_mp4": locked.video_mp4.name}
        stale = [locked.video_mp4.name, locked.video_poster.name]
        locked.video_status = VideoStatus.PENDING
        locked.video_mp4 = locked.video_poster = ""
        locked.video_error = locked.video_error_detail = locked.video_source = ""
        locked.video_duration_seconds = locked.video_processed_at = None
        locked.video_started_at = timezone.now()  # since when it waits (the sweep re-queues lost ones)
        locked.save(
            update_fields=[
                "video_status",
                "video_mp4",
                "video_poster",
                "video_error",
                "video_error_detail",
                "video_source",
                "video_duration_seconds",
                "video_started_at",
                "video_processed_at",
            ]
        )
        audit_record(
            actor=actor,
            action="lesson.video_submitted",
            target=locked,
            old=old,
            new={"video_status": locked.video_status, "video": locked.video.name},
            ip=ip,
        )
        _delete_later(locked.video_mp4.storage, stale)
        from .tasks import lesson_video_process as task

        task.delay_on_commit(lesson_id=locked.pk)
    return locked


def _claim(lesson_id: int) -> tuple[Lesson | None, bool]:
    """Take the lesson's video for processing: ``(lesson, True)``, or ``(lesson, False)`` when there
    is nothing to do (not a video, done already, another worker on it)."""
    now = timezone.now()
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().filter(pk=lesson_id).first()
        if lesson is None or lesson.kind != LessonKind.VIDEO or not lesson.video:
            return lesson, False
        source = lesson.video.name
        if lesson.video_source == source and lesson.video_status in (VideoStatus.READY, VideoStatus.FAILED):
            return lesson, False
        if (
            lesson.video_status == VideoStatus.PROCESSING
            and lesson.video_source == source
            and not _claim_expired(lesson, now)
        ):
            return lesson, False
        old_status = lesson.video_status
        lesson.video_status = VideoStatus.PROCESSING
        lesson.video_source = source
        lesson.video_started_at = now
        lesson.video_error = lesson.video_error_detail = ""
        lesson.save(
            update_fields=[
                "video_status",
                "video_source",
                "video_started_at",
                "video_error",
                "video_error_detail",
            ]
        )
        audit_record(
            actor=None,
            action="lesson.video_processing",
            target=lesson,
            old={"video_status": old_status},
            new={"video_status": lesson.video_status, "video": source},
        )
    return lesson, True


def _still_ours(lesson: Lesson | None, claimed: Lesson) -> bool:
    return (
        lesson is not None
        and lesson.video_status == VideoStatus.PROCESSING
        and lesson.video_source == claimed.video_source
        and lesson.video.name == claimed.video_source
        and lesson.video_started_at == claimed.video_started_at
    )


def _local_copy(field_file, workdir: Path) -> str:
    """A path ffmpeg can read: the file itself on local disk, else a temporary copy."""
    try:
        path = field_file.storage.path(field_file.name)
    except NotImplementedError:
        path = None
    if path and os.path.exists(path):
        return path
    copy = workdir / ("source" + Path(field_file.name).suffix.lower()[:6])
    with field_file.storage.open(field_file.name, "rb") as handle, open(copy, "wb") as out:
        shutil.copyfileobj(handle, out, 1024 * 1024)
    return str(copy)


def _fail(claimed: Lesson, error: VideoError) -> Lesson:
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().filter(pk=claimed.pk).first()
        if not _still_ours(lesson, claimed):
            return lesson
        lesson.video_status = VideoStatus.FAILED
        lesson.video_error = error.code
        lesson.video_error_detail = error.detail
        lesson.video_processed_at = timezone.now()
        lesson.save(update_fields=["video_status", "video_error", "video_error_detail", "video_processed_at"])
        audit_record(
            actor=None,
            action="lesson.video_failed",
            target=lesson,
            old={"video_status": VideoStatus.PROCESSING},
            new={"video_status": lesson.video_status, "video_error": error.code},
        )
    logger.warning("Lesson %s: video refused (%s): %s", claimed.pk, error.code, error.detail)
    return lesson


def lesson_video_process(*, lesson_id: int) -> Lesson | None:
    """Make the phone version, the poster and the real duration of the lesson's video.

    Idempotent: a video done already (ready or refused), or taken by another worker, is left alone;
    a result whose upload was replaced meanwhile is thrown away.
    """
    claimed, taken = _claim(lesson_id)
    if not taken:
        return claimed
    storage = claimed.video.storage
    saved: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="lesson-video-") as workdir:
            try:
                source = _local_copy(claimed.video, Path(workdir))
            except FileNotFoundError as exc:
                raise VideoError("missing", str(exc)) from exc
            prepared = video_prepare(source, workdir)
            with open(prepared.mp4, "rb") as handle:
                saved.append(storage.save(lesson_upload_to(claimed, "video.mp4"), File(handle)))
            with open(prepared.poster, "rb") as handle:
                saved.append(storage.save(lesson_upload_to(claimed, "poster.jpg"), File(handle)))
    except VideoError as error:
        _delete_now(storage, saved)
        return _fail(claimed, error)
    except Exception as exc:  # the lesson must end visibly failed, whatever went wrong
        logger.exception("Lesson %s: video processing failed", claimed.pk)
        _delete_now(storage, saved)
        return _fail(claimed, VideoError("convert_failed", f"{type(exc).__name__}: {exc}"))
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().filter(pk=claimed.pk).first()
        if not _still_ours(lesson, claimed):  # replaced or resubmitted meanwhile
            _delete_later(storage, saved)
            return lesson
        old = {"video_status": lesson.video_status, "video_duration_seconds": lesson.video_duration_seconds}
        lesson.video_status = VideoStatus.READY
        lesson.video_mp4, lesson.video_poster = saved
        lesson.video_duration_seconds = prepared.duration_seconds
        lesson.video_processed_at = timezone.now()
        lesson.save(
            update_fields=[
                "video_status",
                "video_mp4",
                "video_poster",
                "video_duration_seconds",
                "video_processed_at",
            ]
        )
        audit_record(
            actor=None,
            action="lesson.video_ready",
            target=lesson,
            old=old,
            new={
                "video_status": lesson.video_status,
                "video_duration_seconds": lesson.video_duration_seconds,
                "video_mp4": lesson.video_mp4.name,
            },
        )
    return lesson


def _delete_now(storage, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except Exception:
            logger.exception("Could not delete %s", name)


def lesson_videos_sweep() -> int:
    """Periodic: queue the videos whose task was lost (waiting for over 10 minutes, or a worker
    that died while converting). Returns how many were queued."""
    from .tasks import lesson_video_process as task

    now = timezone.now()
    stale = timedelta(seconds=int(conf("LEARNING_VIDEO_TIMEOUT_SECONDS")) + 600)
    ids = list(
        Lesson.objects.filter(kind=LessonKind.VIDEO)
        .exclude(video="")
        .filter(
            Q(video_status=VideoStatus.PENDING, video_started_at__lt=now - timedelta(minutes=10))
            | Q(video_status=VideoStatus.PROCESSING, video_started_at__lt=now - stale)
        )
        .values_list("pk", flat=True)[:100]
    )
    for pk in ids:
        task.delay(lesson_id=pk)
    return len(ids)
