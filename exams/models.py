"""Exams: the question bank, exam templates, attempts (each with its own stored paper) and practice.

An attempt's paper is a snapshot: every :class:`AttemptQuestion` keeps the stem, the options in the
order shown and the correct answer (as displayed indexes), so editing the bank later never changes
a paper already drawn. The correct answer and explanation are only rendered after submission.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from registration.models import CertificateType, TrainingCategory


class QuestionType(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TRUE_FALSE = "true_false", _("True / false")


# Sections of a paper, in this order.
TYPE_ORDER = [QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUE_FALSE]

TOPICS = {
    "law": _("Work Safety Law and regulations"),
    "responsibility": _("Safety responsibility"),
    "management": _("Safety management"),
    "hazard": _("Hazard identification and control"),
    "accident": _("Accident reporting and investigation"),
    "emergency": _("Emergency response"),
    "fire": _("Fire safety"),
    "electrical": _("Electrical safety"),
    "special_work": _("Special and hazardous work"),
    "occupational_health": _("Occupational health"),
}


def topic_label(topic: str) -> str:
    return str(TOPICS.get(topic, topic))


class Question(models.Model):
    code = models.CharField(_("code"), max_length=30, unique=True)
    qtype = models.CharField(_("type"), max_length=12, choices=QuestionType.choices)
    for_principal = models.BooleanField(_("for principal persons in charge"), default=True)
    for_safety_manager = models.BooleanField(_("for safety managers"), default=True)
    topic = models.CharField(_("topic"), max_length=40, db_index=True)
    stem = models.TextField(_("question"), max_length=2000)
    options = models.JSONField(_("options"), default=list)
    answer = models.JSONField(
        _("correct answer"), default=list, help_text=_("Indexes of the correct options.")
    )
    explanation = models.TextField(_("explanation"), blank=True, max_length=4000)
    is_active = models.BooleanField(_("active"), default=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("question bank")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(for_principal=True) | Q(for_safety_manager=True),
                name="exams_question_has_certificate_type",
                violation_error_message=_("Choose at least one certificate type."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.stem[:40]}"

    @property
    def certificate_types(self) -> list[str]:
        return [
            value
            for value, flag in (
                (CertificateType.PRINCIPAL, self.for_principal),
                (CertificateType.SAFETY_MANAGER, self.for_safety_manager),
            )
            if flag
        ]

    @property
    def topic_label(self) -> str:
        return topic_label(self.topic)


def certificate_q(certificate_type: str, prefix: str = "") -> Q:
    """Questions tagged for ``certificate_type``."""
    field = "for_principal" if certificate_type == CertificateType.PRINCIPAL else "for_safety_manager"
    return Q(**{prefix + field: True})


class ExamTemplate(models.Model):
    """How a paper is drawn for one certificate type and training category.

    ``programme`` empty = the default for every programme; a programme's own template wins.
    Empty pass mark / resits = the programme's ``exam_pass_mark`` / ``exam_resits``.
    """

    programme = models.ForeignKey(
        "registration.Programme",
        verbose_name=_("programme"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Leave empty to use this template for every programme."),
    )
    certificate_type = models.CharField(_("certificate type"), max_length=20, choices=CertificateType.choices)
    training_category = models.CharField(
        _("training category"), max_length=12, choices=TrainingCategory.choices
    )
    name = models.CharField(pgettext_lazy("object name", "name"), max_length=120)
    time_limit_minutes = models.PositiveSmallIntegerField(
        _("time limit (minutes)"), default=90, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    pass_mark = models.DecimalField(
        _("pass mark"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Leave empty to use the programme's exam pass mark."),
    )
    resits = models.PositiveSmallIntegerField(
        _("resits allowed"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use the programme's number of resits."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("exam template")
        verbose_name_plural = _("exam templates")
        ordering = ["certificate_type", "training_category", "programme_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "certificate_type", "training_category"],
                condition=Q(programme__isnull=False),
                name="exams_template_one_per_programme",
                violation_error_message=_("This programme already has a template for this combination."),
            ),
            models.UniqueConstraint(
                fields=["certificate_type", "training_category"],
                condition=Q(programme__isnull=True),
                name="exams_template_one_default",
                violation_error_message=_("A default template for this combination already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ExamTemplateRule(models.Model):
    template = models.ForeignKey(
        ExamTemplate, verbose_name=_("exam template"), related_name="rules", on_delete=models.CASCADE
    )
    qtype = models.CharField(_("question type"), max_length=12, choices=QuestionType.choices)
    topic = models.CharField(
        _("topic"), max_length=40, blank=True, help_text=_("Leave empty to draw from every topic.")
    )
    count = models.PositiveSmallIntegerField(_("number of questions"), validators=[MinValueValidator(1)])
    points = models.DecimalField(
        _("points per question"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    class Meta:
        verbose_name = _("template rule")
        verbose_name_plural = _("template rules")
        ordering = ["template_id", "id"]

    def __str__(self) -> str:
        return f"{self.get_qtype_display()} {self.topic or '*'} × {self.count}"


class AttemptStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted")


class SubmitReason(models.TextChoices):
    TRAINEE = "trainee", _("Submitted by the trainee")
    TIMEOUT = "timeout", _("Time ran out")


class Attempt(models.Model):
    enrollment = models.ForeignKey(
        "learning.Enrollment",
        verbose_name=_("enrollment"),
        related_name="exam_attempts",
        on_delete=models.PROTECT,
    )
    template = models.ForeignKey(
        ExamTemplate, verbose_name=_("exam template"), related_name="+", on_delete=models.PROTECT
    )
    number = models.PositiveSmallIntegerField(
        _("attempt"), help_text=_("1 = first sitting, 2 and on = resits.")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AttemptStatus.choices, default=AttemptStatus.IN_PROGRESS
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    deadline = models.DateTimeField(_("time is up at"))
    submitted_at = models.DateTimeField(pgettext_lazy("exam attempt", "submitted at"), null=True, blank=True)
    submit_reason = models.CharField(
        _("how it ended"), max_length=10, choices=SubmitReason.choices, blank=True
    )
    question_count = models.PositiveSmallIntegerField(_("questions"), default=0)
    total_points = models.DecimalField(_("total points"), max_digits=7, decimal_places=2, default=0)
    pass_mark = models.DecimalField(_("pass mark"), max_digits=7, decimal_places=2)
    score = models.DecimalField(_("score"), max_digits=7, decimal_places=2, null=True, blank=True)
    correct_count = models.PositiveSmallIntegerField(_("correct answers"), null=True, blank=True)
    passed = models.BooleanField(_("passed"), null=True, blank=True)

    class Meta:
        verbose_name = _("exam attempt")
        verbose_name_plural = _("exam attempts")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "number"], name="exams_attempt_number_unique"),
            models.UniqueConstraint(
                fields=["enrollment"],
                condition=Q(status="in_progress"),
                name="exams_one_open_attempt",
            ),
        ]
        indexes = [
            models.Index(
                fields=["deadline"], name="exams_attempt_open_deadline", condition=Q(status="in_progress")
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.number})"

    @property
    def is_open(self) -> bool:
        return self.status == AttemptStatus.IN_PROGRESS

    def remaining_seconds(self, now=None) -> int:
        now = now or timezone.now()
        return max(0, int((self.deadline - now).total_seconds()))


class AttemptQuestion(models.Model):
    """One question of one attempt's paper (a snapshot) and the trainee's answer."""

    attempt = models.ForeignKey(
        Attempt, verbose_name=_("exam attempt"), related_name="items", on_delete=models.CASCADE
    )
    position = models.PositiveSmallIntegerField(_("number"))
    question = models.ForeignKey(
        Question, verbose_name=_("question"), related_name="paper_items", on_delete=models.PROTECT
    )
    qtype = models.CharField(_("type"), max_length=12, choices=QuestionType.choices)
    stem = models.TextField(_("question"))
    options = models.JSONField(_("options as shown"), default=list)
    correct = models.JSONField(_("correct answer (as shown)"), default=list)
    explanation = models.TextField(_("explanation"), blank=True)
    points = models.DecimalField(_("points"), max_digits=5, decimal_places=2)
    answer = models.JSONField(_("answer given"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    is_correct = models.BooleanField(_("correct"), null=True, blank=True)

    class Meta:
        verbose_name = _("paper question")
        verbose_name_plural = _("paper questions")
        ordering = ["attempt_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "position"], name="exams_item_position_unique"),
        ]
        indexes = [models.Index(fields=["question", "is_correct"], name="exams_item_question_stats")]

    def __str__(self) -> str:
        return f"{self.attempt_id}/{self.position}"


class PracticeItem(models.Model):
    """Practice history of one question for one enrollment; ``in_wrong_book`` until answered right."""

    enrollment = models.ForeignKey(
        "learning.Enrollment", verbose_name=_("enrollment"), related_name="+", on_delete=models.CASCADE
    )
    question = models.ForeignKey(
        Question, verbose_name=_("question"), related_name="+", on_delete=models.CASCADE
    )
    times_answered = models.PositiveIntegerField(_("times answered"), default=0)
    times_wrong = models.PositiveIntegerField(_("times wrong"), default=0)
    in_wrong_book = models.BooleanField(_("in the wrong-answer book"), default=False)
    last_answered_at = models.DateTimeField(_("last answered at"), default=timezone.now)

    class Meta:
        verbose_name = _("practice record")
        verbose_name_plural = _("practice records")
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "question"], name="exams_practice_unique"),
        ]
        indexes = [models.Index(fields=["enrollment", "in_wrong_book"], name="exams_practice_book")]

    def __str__(self) -> str:
        return f"{self.enrollment_id}/{self.question_id}"


class ExamStatistics(Attempt):
    """No table of its own: gives the staff statistics view its place on the admin index."""

    class Meta:
        proxy = True
        verbose_name = _("exam statistics")
        verbose_name_plural = _("exam statistics")
        default_permissions = ()
        permissions = [("view_exam_statistics", _("Can view exam statistics"))]
