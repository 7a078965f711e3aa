"""Study accounts: one enrollment per paid, approved trainee, and its study window.

The log-in account itself is ``portal.User`` (login = the trainee's own mobile number). The
enrollment carries the study window (``deadline`` = opening + the programme's
``study_window_days``, stored so that staff can extend it) and the lifecycle status. The study
pages, exams and certificates read :func:`learning.selectors.enrollments.enrollment_access` before
letting the trainee in.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from registration.models import CertificateType, TrainingCategory


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PASSED = "passed", _("Passed")
    EXPIRED = "expired", _("Expired (void)")


# Statuses the expiry job voids once the deadline passes (a passed enrollment is never voided). The partial index on ``Enrollment.deadline`` covers exactly these rows: adding a status
# changes its condition, and ``makemigrations`` writes the migration that rebuilds it.
EXPIRABLE_STATUSES = [EnrollmentStatus.ACTIVE]

# The audit action of one expiry run: one entry per run with the run id and the number of
# enrollments voided (each enrollment keeps the id in ``expiry_run``).
EXPIRY_AUDIT_ACTION = "enrollments.expired"


class Enrollment(models.Model):
    trainee = models.OneToOneField(
        "registration.Trainee",
        verbose_name=_("trainee"),
        related_name="enrollment",
        on_delete=models.PROTECT,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("study account"),
        related_name="enrollments",
        on_delete=models.PROTECT,
    )
    programme = models.ForeignKey(
        "registration.Programme", verbose_name=_("programme"), related_name="+", on_delete=models.PROTECT
    )
    opened_at = models.DateTimeField(_("account opened at"), default=timezone.now)
    deadline = models.DateTimeField(_("study deadline"))
    status = models.CharField(
        _("status"), max_length=12, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE
    )
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    expired_at = models.DateTimeField(_("expired at"), null=True, blank=True)
    # The expiry run that voided this enrollment: the key of that run's audit entry
    # (``EXPIRY_AUDIT_ACTION``, ``new_value["run"]``); an extension keeps it in its own audit entry.
    expiry_run = models.UUIDField(null=True, blank=True, editable=False)
    extended_days = models.PositiveIntegerField(_("days extended in total"), default=0)
    last_extended_at = models.DateTimeField(_("last extended at"), null=True, blank=True)
    last_extension_reason = models.TextField(_("reason for the last extension"), blank=True)
    welcome_sent_at = models.DateTimeField(_("account message sent at"), null=True, blank=True)
    passed_at = models.DateTimeField(_("passed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["-opened_at", "-id"]
        permissions = [("extend_enrollment", _("Can extend a study window"))]
        indexes = [
            # The reminder and expiry jobs and the admin deadline filter look for expirable rows by
            # deadline. Partial: a row leaving these statuses gets no new entry here (cheaper
            # updates), and the index stays as small as the number of open study windows.
            models.Index(
                fields=["deadline"],
                condition=Q(status__in=EXPIRABLE_STATUSES),
                name="learning_enr_open_deadline",
            )
        ]

    def __str__(self) -> str:
        return f"{self.trainee.name} · {self.programme}" if self.trainee_id else str(self.pk)

    @property
    def is_expired(self) -> bool:
        return self.status == EnrollmentStatus.EXPIRED


class EnrollmentReminder(models.Model):
    """One row per reminder sent: the unique constraint makes each reminder go out once
    per deadline (an extension moves the deadline, so its reminders can go out again)."""

    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrollment"), related_name="reminders", on_delete=models.CASCADE
    )
    kind = models.CharField(_("reminder"), max_length=20)
    deadline = models.DateTimeField(_("deadline reminded of"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    run = models.UUIDField(editable=False, db_index=True)

    class Meta:
        verbose_name = _("study reminder")
        verbose_name_plural = _("study reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "kind", "deadline"], name="learning_reminder_once_per_deadline"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} {self.kind}"


class AccessCodePurpose(models.TextChoices):
    ACTIVATE = "activate", _("Account activation")
    RESET = "reset", _("Password reset")


class AccessCode(models.Model):
    """A one-time way to set one's own password: a link token and a 6-digit code (only hashes stored).

    Issuing a new one revokes the user's earlier open ones; using either the link or the code
    uses it up.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), related_name="+", on_delete=models.CASCADE
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=AccessCodePurpose.choices)
    link_hash = models.CharField(max_length=64, unique=True, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    link_expires_at = models.DateTimeField(_("link expires at"))
    code_expires_at = models.DateTimeField(_("code expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong code attempts"), default=0)
    used_at = models.DateTimeField(_("used or revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("access code")
        verbose_name_plural = _("access codes")
        indexes = [
            models.Index(
                fields=["user", "created_at"], name="learning_code_open", condition=Q(used_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class PipelineDashboard(Enrollment):
    """No table: gives the staff dashboard its place on the admin index (see learning.admin)."""

    class Meta:
        proxy = True
        verbose_name = _("pipeline dashboard")
        verbose_name_plural = _("pipeline dashboard")
        default_permissions = ()


# ---------------------------------------------------------------------------------------------
# Course content (managed in admin by the course administrator)


def class_hour_ms() -> int:
    """One class hour (学时) in milliseconds (``LEARNING_CLASS_HOUR_MINUTES``, default 45)."""
    from .conf import conf

    return int(conf("LEARNING_CLASS_HOUR_MINUTES")) * 60_000


def hours_to_ms(hours) -> int:
    return int(Decimal(hours) * class_hour_ms())


def lesson_upload_to(instance, filename: str) -> str:
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:6] or ".bin"
    return f"learning/lessons/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


def lesson_storage():
    """Lesson files are only served through the (ranged, permission-checked) lesson views."""
    from portal.storage import private_storage

    return private_storage()


class Course(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.title


class LessonKind(models.TextChoices):
    VIDEO = "video", _("Video")
    DOCUMENT = "document", _("Document (PDF)")
    HTML = "html", _("Text page")


class VideoStatus(models.TextChoices):
    """Where a lesson video stands (learning/video.py). Blank: not processed (a video stored before
    processing existed, or made in code), played as stored."""

    PENDING = "pending", pgettext_lazy("video status", "Waiting to be processed")
    PROCESSING = "processing", pgettext_lazy("video status", "Processing")
    READY = "ready", pgettext_lazy("video status", "Ready")
    FAILED = "failed", pgettext_lazy("video status", "Failed")


class Lesson(models.Model):
    course = models.ForeignKey(
        Course, verbose_name=_("course"), related_name="lessons", on_delete=models.CASCADE
    )
    code = models.SlugField(_("code"), max_length=60, unique=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=LessonKind.choices, default=LessonKind.HTML)
    class_hours = models.DecimalField(
        _("class hours"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("One class hour is LEARNING_CLASS_HOUR_MINUTES minutes (45 by default)."),
    )
    video = models.FileField(_("video file"), storage=lesson_storage, upload_to=lesson_upload_to, blank=True)
    video_duration_seconds = models.PositiveIntegerField(_("video duration (seconds)"), null=True, blank=True)
    # Made from ``video`` by learning/video.py: what trainees play, its poster and the processing state.
    video_status = models.CharField(
        _("video processing"), max_length=12, choices=VideoStatus.choices, blank=True, default=""
    )
    video_mp4 = models.FileField(
        _("video for phones (MP4)"),
        storage=lesson_storage,
        upload_to=lesson_upload_to,
        blank=True,
        editable=False,
    )
    video_poster = models.FileField(
        _("video poster"), storage=lesson_storage, upload_to=lesson_upload_to, blank=True, editable=False
    )
    video_error = models.CharField(_("video error"), max_length=30, blank=True, editable=False)
    video_error_detail = models.TextField(_("video error detail"), blank=True, editable=False)
    # The stored name of the upload the state above belongs to, and when a worker took it.
    video_source = models.CharField(max_length=255, blank=True, editable=False)
    video_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    video_processed_at = models.DateTimeField(_("video processed at"), null=True, blank=True, editable=False)
    document = models.FileField(
        _("PDF document"), storage=lesson_storage, upload_to=lesson_upload_to, blank=True
    )
    body_html = models.TextField(
        _("text (HTML)"),
        blank=True,
        help_text=_("Only safe tags are kept (headings, paragraphs, lists, tables)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        ordering = ["course__order", "course_id", "order", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def required_ms(self) -> int:
        return hours_to_ms(self.class_hours)

    @property
    def video_playable(self) -> bool:
        """Trainees may play the video: processed, or stored before processing existed."""
        if self.video_status == VideoStatus.READY:
            return bool(self.video_mp4)
        return self.video_status == "" and bool(self.video)

    @property
    def video_file(self):
        """The file trainees play: the processed MP4 (the stored upload only while unprocessed)."""
        if not self.video_playable:
            return None
        return self.video_mp4 if self.video_status == VideoStatus.READY else self.video


class CoursePlan(models.Model):
    """Which courses a certificate type × training category must study (all their active lessons)."""

    certificate_type = models.CharField(_("certificate type"), max_length=20, choices=CertificateType.choices)
    training_category = models.CharField(
        _("training category"), max_length=12, choices=TrainingCategory.choices
    )
    courses = models.ManyToManyField(Course, verbose_name=_("courses"), related_name="plans", blank=True)

    class Meta:
        verbose_name = _("course plan")
        verbose_name_plural = _("course plans")
        ordering = ["certificate_type", "training_category"]
        constraints = [
            models.UniqueConstraint(
                fields=["certificate_type", "training_category"], name="learning_one_plan_per_type_category"
            )
        ]

    def __str__(self) -> str:
        return f"{CertificateType(self.certificate_type).label} · {TrainingCategory(self.training_category).label}"


class ProgrammeStudyRule(models.Model):
    """Per-programme study rules (the registration app owns the programme itself)."""

    programme = models.OneToOneField(
        "registration.Programme",
        verbose_name=_("programme"),
        related_name="study_rule",
        on_delete=models.CASCADE,
    )
    daily_cap_hours = models.DecimalField(
        _("daily cap (class hours)"),
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5"))],
        help_text=_("At most this many class hours are credited per trainee per day."),
    )
    offline_hours_required = models.DecimalField(
        _("offline class hours required"),
        max_digits=5,
        decimal_places=1,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_(
            "Class hours that must be attended in offline sessions before the exam unlocks "
            "(0: none). Offline hours always count toward the total."
        ),
    )
    # Identity checks (issue #23; learning.services.identity).
    identity_mode = models.CharField(
        _("identity checks"),
        max_length=10,
        choices=[
            ("none", _("None")),
            ("face", _("Face comparison (an SMS code for trainees who decline)")),
            ("sms", _("SMS code to the trainee's own mobile")),
        ],
        default="none",
    )
    identity_min_minutes = models.PositiveIntegerField(
        _("identity check at the earliest after (minutes)"),
        default=20,
        validators=[MinValueValidator(5)],
        help_text=_(
            "A check is asked at the start of a study session and then at a random moment between these two."
        ),
    )
    identity_max_minutes = models.PositiveIntegerField(
        _("identity check at the latest after (minutes)"), default=40, validators=[MinValueValidator(5)]
    )
    identity_max_failures = models.PositiveSmallIntegerField(
        _("failed checks before staff review"),
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("After this many failed checks in a row the case goes to the staff review queue."),
    )

    class Meta:
        verbose_name = _("study rule")
        verbose_name_plural = _("study rules")

    def __str__(self) -> str:
        return str(self.programme)


# ---------------------------------------------------------------------------------------------
# Study progress and the training record (培训档案)


class LessonProgress(models.Model):
    """Time credited to one lesson of one enrollment (milliseconds; capped at the lesson's hours)."""

    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrollment"), related_name="lesson_progress", on_delete=models.CASCADE
    )
    lesson = models.ForeignKey(Lesson, verbose_name=_("lesson"), related_name="+", on_delete=models.PROTECT)
    credited_ms = models.BigIntegerField(_("time credited (ms)"), default=0)
    video_position = models.FloatField(_("video position (s)"), default=0)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("lesson progress")
        verbose_name_plural = _("lesson progress")
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "lesson"], name="learning_progress_once_per_lesson")
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} · {self.lesson_id}"


class RecordSource(models.TextChoices):
    HEARTBEAT = "heartbeat", _("Online study (heartbeats)")
    STAFF = "staff", _("Staff entry")


class RecordStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting presence check")
    CONFIRMED = "confirmed", _("Confirmed")
    DISCARDED = "discarded", _("Not credited (presence check missed)")


class StudyRecord(models.Model):
    """One line of the training record: a span of study of one lesson (or a staff entry).

    Online study accrues into a pending line per lesson; a presence check answered in time confirms
    the pending lines, a missed one discards them (their time is taken off the progress).
    """

    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrollment"), related_name="study_records", on_delete=models.PROTECT
    )
    lesson = models.ForeignKey(Lesson, verbose_name=_("lesson"), related_name="+", on_delete=models.PROTECT)
    source = models.CharField(_("recorded by"), max_length=10, choices=RecordSource.choices)
    status = models.CharField(_("status"), max_length=10, choices=RecordStatus.choices)
    credited_ms = models.BigIntegerField(_("time credited (ms)"), default=0)
    heartbeats = models.PositiveIntegerField(_("heartbeats"), default=0)
    started_at = models.DateTimeField(pgettext_lazy("study record", "from"), default=timezone.now)
    ended_at = models.DateTimeField(_("to"), default=timezone.now)
    day = models.DateField(_("day"))
    resolved_at = models.DateTimeField(_("confirmed / discarded at"), null=True, blank=True)
    presence_check = models.PositiveIntegerField(_("presence check no."), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("training record line")
        verbose_name_plural = _("training record")
        permissions = [("record_hours", _("Can record class hours earned elsewhere"))]
        ordering = ["enrollment_id", "started_at", "id"]
        indexes = [
            models.Index(
                fields=["enrollment"], name="learning_record_pending", condition=Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} · {self.lesson_id} · {self.credited_ms} ms"

    @property
    def minutes(self) -> Decimal:
        return (Decimal(self.credited_ms) / 60_000).quantize(Decimal("0.1"))


class StudyState(models.Model):
    """The one live study session of an enrollment: opening a lesson (another tab or device) takes over.

    Heartbeats carry ``token`` and a sequence number; only the current token is credited.
    """

    enrollment = models.OneToOneField(
        Enrollment, verbose_name=_("enrollment"), related_name="study_state", on_delete=models.CASCADE
    )
    token = models.UUIDField(_("session"), unique=True, default=uuid.uuid4)
    lesson = models.ForeignKey(Lesson, verbose_name=_("lesson"), related_name="+", on_delete=models.PROTECT)
    progress = models.ForeignKey(LessonProgress, related_name="+", on_delete=models.CASCADE)
    record = models.ForeignKey(
        StudyRecord, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField(_("session started at"), default=timezone.now)
    last_seq = models.BigIntegerField(default=0)
    last_beat_at = models.DateTimeField(_("last heartbeat at"), default=timezone.now)
    last_position = models.FloatField(default=0)
    day = models.DateField(_("day"), null=True, blank=True)
    day_ms = models.BigIntegerField(_("credited that day (ms)"), default=0)
    unconfirmed_ms = models.BigIntegerField(_("unconfirmed (ms)"), default=0)
    checks = models.PositiveIntegerField(_("presence checks issued"), default=0)
    next_check_at = models.DateTimeField(_("next presence check at"), default=timezone.now)
    check_issued_at = models.DateTimeField(_("presence check shown at"), null=True, blank=True)
    checks_missed = models.PositiveIntegerField(_("presence checks missed"), default=0)
    # Identity checks (issue #23): from this moment nothing is credited until a check passes (None:
    # the programme has no identity checks). Set at session start and after each good check.
    identity_next_at = models.DateTimeField(_("next identity check at"), null=True, blank=True)
    # The login session that opened it: heartbeats authenticate against these without loading the
    # session row (the session cookie's hash, the session's auth hash, its expiry).
    session_key_hash = models.CharField(max_length=64, blank=True, editable=False)
    session_auth_hash = models.CharField(max_length=128, blank=True, editable=False)
    session_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("study session")
        verbose_name_plural = _("study sessions")

    def __str__(self) -> str:
        return str(self.enrollment_id)


# ---------------------------------------------------------------------------------------------
# Offline class hours (issue #23): sessions taught at a venue; trainees check in by scanning the
# session's QR code (or staff import a sign-in sheet). Services: learning.services.offline.


def offline_token() -> str:
    import secrets

    return secrets.token_urlsafe(18)


class OfflineSession(models.Model):
    """One offline class (date, place, hours) of a programme; its QR code carries ``token``."""

    programme = models.ForeignKey(
        "registration.Programme",
        verbose_name=_("programme"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place"), max_length=200)
    hours = models.DecimalField(
        _("class hours"), max_digits=4, decimal_places=1, validators=[MinValueValidator(Decimal("0.5"))]
    )
    token = models.CharField(max_length=40, unique=True, default=offline_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("offline session")
        verbose_name_plural = _("offline sessions")
        ordering = ["-starts_at", "-id"]
        permissions = [("import_offlinecheckin", _("Can import offline sign-in sheets"))]

    def __str__(self) -> str:
        return f"{self.title} · {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"


class CheckInMethod(models.TextChoices):
    SCAN = "scan", _("QR code scanned")
    IMPORT = "import", _("Sign-in sheet imported")
    STAFF = "staff", _("Entered by staff")


class OfflineCheckIn(models.Model):
    """One trainee present at one offline session (the session's hours count once)."""

    session = models.ForeignKey(
        OfflineSession, verbose_name=_("offline session"), related_name="checkins", on_delete=models.PROTECT
    )
    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrollment"), related_name="offline_checkins", on_delete=models.PROTECT
    )
    method = models.CharField(_("method"), max_length=10, choices=CheckInMethod.choices)
    checked_in_at = models.DateTimeField(_("checked in at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("person", "recorded by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )

    class Meta:
        verbose_name = _("offline check-in")
        verbose_name_plural = _("offline check-ins")
        ordering = ["session", "checked_in_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "enrollment"], name="learning_checkin_once_per_session"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id} · {self.enrollment_id}"


# ---------------------------------------------------------------------------------------------
# Identity checks (issue #23): a camera snapshot (two frames) compared with the registered photo,
# or a code sent to the trainee's own mobile. Services: learning.services.identity.


def identity_storage():
    """Snapshots are private files, like the ID card copies (served only to permitted staff)."""
    from portal.storage import private_storage

    return private_storage()


def identity_snapshot_upload_to(instance, filename: str) -> str:
    from portal.storage import random_upload_path

    return random_upload_path("learning", "identity", filename)


class IdentityContext(models.TextChoices):
    STUDY = "study", _("Study")
    EXAM = "exam", _("Exam")


class IdentityMethod(models.TextChoices):
    FACE = "face", _("Face comparison")
    SMS_CODE = "sms_code", _("SMS code")


class IdentityDecision(models.TextChoices):
    PENDING = "pending", _("Pending")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")
    MISSED = "missed", _("Missed")
    STAFF_APPROVED = "staff_approved", _("Approved by staff")
    STAFF_REJECTED = "staff_rejected", _("Rejected by staff")


class PhotoReview(models.TextChoices):
    """The staff-reviewed photo of an exam check answered by SMS code (no face comparison)."""

    NONE = "", _("No photo review")
    WAITING = "waiting", _("Photo awaiting staff review")
    APPROVED = "approved", _("Photo approved by staff")
    REJECTED = "rejected", _("Photo rejected by staff")


class IdentityCheck(models.Model):
    """One identity check of a trainee: asked at ``requested_at``, answered with two camera frames
    (compared with the registered photo by a Celery task) or an SMS code.

    Exams come after learning in the pipeline: the exam attempt is kept by its id, not a foreign key.
    """

    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrollment"), related_name="identity_checks", on_delete=models.PROTECT
    )
    context = models.CharField(_("during"), max_length=10, choices=IdentityContext.choices)
    exam_attempt_id = models.BigIntegerField(_("exam attempt"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=10, choices=IdentityMethod.choices)
    requested_at = models.DateTimeField(_("asked at"), default=timezone.now)
    captured_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    compared_at = models.DateTimeField(_("compared at"), null=True, blank=True)
    snapshot = models.FileField(
        _("snapshot"), storage=identity_storage, upload_to=identity_snapshot_upload_to, blank=True
    )
    snapshot_second = models.FileField(
        _("second frame"), storage=identity_storage, upload_to=identity_snapshot_upload_to, blank=True
    )
    distance = models.FloatField(_("distance to the registered photo"), null=True, blank=True)
    distance_second = models.FloatField(_("distance of the second frame"), null=True, blank=True)
    frames_difference = models.FloatField(_("difference between the frames"), null=True, blank=True)
    liveness_passed = models.BooleanField(_("liveness passed"), null=True, blank=True)
    decision = models.CharField(
        _("decision"), max_length=16, choices=IdentityDecision.choices, default=IdentityDecision.PENDING
    )
    failure = models.CharField(_("why it failed"), max_length=20, blank=True)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_attempts = models.PositiveSmallIntegerField(_("wrong code attempts"), default=0)
    review_requested_at = models.DateTimeField(_("sent to staff review at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_reason = models.TextField(_("review reason"), blank=True)
    snapshots_deleted_at = models.DateTimeField(_("snapshots deleted at"), null=True, blank=True)
    photo_review = models.CharField(
        _("exam photo review"), max_length=10, choices=PhotoReview.choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("identity check")
        verbose_name_plural = _("identity checks")
        ordering = ["enrollment_id", "requested_at", "id"]
        permissions = [("review_identitycheck", _("Can review identity checks"))]
        indexes = [
            models.Index(
                fields=["review_requested_at"],
                name="learning_identity_review",
                condition=Q(decision="failed", review_requested_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} · {self.get_context_display()} · {self.get_decision_display()}"


class IdentityPreference(models.Model):
    """How a trainee confirms who they are (chosen in the personal centre before the first check):
    face comparison (with the separate consent stored as the other consents are) or the alternative,
    a code sent to their own mobile (and a staff-reviewed photo at the exam)."""

    enrollment = models.OneToOneField(
        Enrollment, verbose_name=_("enrollment"), related_name="identity_preference", on_delete=models.CASCADE
    )
    method = models.CharField(_("method"), max_length=10, choices=IdentityMethod.choices)
    chosen_at = models.DateTimeField(_("chosen at"), default=timezone.now)

    class Meta:
        verbose_name = _("identity check choice")
        verbose_name_plural = _("identity check choices")

    def __str__(self) -> str:
        return f"{self.enrollment_id} · {self.get_method_display()}"
