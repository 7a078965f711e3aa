import json

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .crypto import EncryptedCharField
from .validators import mobile_normalize, mobile_validate


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Log-in accepts "+86 138-1234-5678" as well as "13812345678".
        return self.get(**{self.model.USERNAME_FIELD: mobile_normalize(username)})

    def _create(self, mobile: str, name: str, password: str | None, **extra):
        user = self.model(mobile=mobile_validate(mobile), name=name, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, mobile: str, name: str = "", password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(mobile, name, password, **extra)

    def create_superuser(self, mobile: str, name: str = "", password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(mobile, name, password, **extra)


def _validate_mobile_field(value: str) -> None:
    if mobile_validate(value) != value:
        raise ValidationError(_("Store the mobile number as 11 digits."), code="mobile_not_normalised")


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: trainees and staff alike log in with their own mainland mobile number."""

    mobile = models.CharField(
        _("mobile number"),
        max_length=11,
        unique=True,
        validators=[_validate_mobile_field],
        help_text=_("11-digit mainland China mobile number; it is the login name."),
        error_messages={"unique": _("An account with this mobile number already exists.")},
    )
    name = models.CharField(_("name"), max_length=50)
    email = models.EmailField(_("e-mail address"), blank=True)
    is_staff = models.BooleanField(
        _("staff status"), default=False, help_text=_("Can log in to the administration site.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "mobile"
    REQUIRED_FIELDS = ["name"]
    EMAIL_FIELD = "email"

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return f"{self.name} ({self.mobile})" if self.name else self.mobile

    def clean(self) -> None:
        super().clean()
        self.mobile = mobile_normalize(self.mobile)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name


class Association(models.Model):
    """The association running the portal (one row), editable by staff in admin."""

    name = models.CharField(_("association name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    certificate_issuer = models.CharField(
        _("certificate issuer"), max_length=100, help_text=_("Body that issues the training certificates.")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)

    class Meta:
        verbose_name = _("association")
        verbose_name_plural = _("association")

    def __str__(self) -> str:
        return self.name


class AuditEntry(models.Model):
    """One row per staff action or status change: who, when, what, old and new value, address.

    Written by services in the same transaction as the change; read-only in admin.
    """

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_repr = models.CharField(_("actor (as it was)"), max_length=120, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    target_type = models.ForeignKey(
        ContentType, verbose_name=_("object type"), null=True, blank=True, on_delete=models.SET_NULL
    )
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_repr = models.CharField(_("object"), max_length=200, blank=True)
    old_value = models.JSONField(_("old value"), null=True, blank=True)
    new_value = models.JSONField(_("new value"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_repr or '-'} {self.action}"


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", pgettext_lazy("message status", "Failed")


class OutboundMessage(models.Model):
    """One SMS or e-mail the portal sends (``portal.messaging``): what, to whom, and what became of it.

    ``event`` names the event the message is for (a notice's ``event_key`` and the channel): it is
    unique, so the same event is never sent twice. The variables and the e-mail body are stored
    encrypted (they hold codes and private links) and are never shown in admin or logs.
    """

    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    event = models.CharField(_("event"), max_length=200, unique=True)
    notice = models.CharField(_("notice"), max_length=200, db_index=True)
    kind = models.CharField(_("message kind"), max_length=50, blank=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = EncryptedCharField(_("text"), max_length=20_000, blank=True)
    params_json = EncryptedCharField(_("variables"), max_length=4000, blank=True)
    template_code = models.CharField(_("template code"), max_length=64, blank=True)
    backend = models.CharField(_("sent through"), max_length=30, blank=True)
    provider_message_id = models.CharField(
        _("provider message id"), max_length=100, blank=True, db_index=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    about_type = models.ForeignKey(
        ContentType, verbose_name=_("about (type)"), null=True, blank=True, on_delete=models.SET_NULL
    )
    about_id = models.CharField(_("about (id)"), max_length=64, blank=True)
    about_repr = models.CharField(_("about"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        permissions = [("resend_outboundmessage", _("Can resend messages"))]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["recipient", "created_at"]),
            models.Index(fields=["about_type", "about_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.kind or '-'} → {self.recipient_masked}"

    @property
    def recipient_masked(self) -> str:
        """``138****5678`` / ``a***@example.org``: the recipient as lists show it."""
        if self.channel == MessageChannel.EMAIL:
            local, _at, domain = self.recipient.partition("@")
            return f"{local[:1]}***@{domain}" if domain else "***"
        return f"{self.recipient[:3]}****{self.recipient[-4:]}" if len(self.recipient) >= 7 else "****"

    @property
    def params(self) -> dict:
        return json.loads(self.params_json) if self.params_json else {}


class Holiday(models.Model):
    """An override of the working-day calendar (``portal.workdays``): a statutory holiday, or an
    adjusted working day on a weekend, for the years chinesecalendar does not know yet (or to
    correct it). Edited by finance and staff in admin."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(
        _("is a working day"),
        default=False,
        help_text=_("Tick for an adjusted working day on a weekend; leave empty for a holiday."),
    )
    name = models.CharField(pgettext_lazy("object name", "name"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("holiday or adjusted working day")
        verbose_name_plural = _("holidays and adjusted working days")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class CalendarYear(models.Model):
    """A year of the working-day calendar for which the portal has official data: created (marked
    official) by the calendar import (``manage.py calendar_import`` or its admin page) once the
    State Council's arrangement is entered. Years the ``chinesecalendar`` package knows are official
    without a row. Deadlines computed over a year without official data are provisional."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    official = models.BooleanField(
        _("official data entered"),
        default=False,
        help_text=_("Ticked when the year's holidays and adjusted working days have been entered."),
    )
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class ContactRole(models.TextChoices):
    TECHNICAL = "technical", _("Technical support")
    REGISTRATION = "registration", _("Registration enquiries")
    PAYMENT = "payment", _("Payment and invoices")
    CERTIFICATE = "certificate", _("Certificates")
    OTHER = "other", _("Other enquiries")


class Contact(models.Model):
    """One of the association's contacts for trainees (技术咨询, 报名咨询, ...), edited by staff in
    admin and shown in the footer and on the guide and FAQ pages (``portal.selectors.contacts_active``)."""

    role = models.CharField(pgettext_lazy("contact", "role"), max_length=20, choices=ContactRole.choices)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    phone = models.CharField(pgettext_lazy("contact", "phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    hours = models.CharField(
        pgettext_lazy("contact", "office hours"),
        max_length=100,
        blank=True,
        help_text=_("For example: weekdays 9:00–17:30."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Smaller numbers first."))
    active = models.BooleanField(pgettext_lazy("contact", "shown"), default=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.name}"

    @property
    def phone_tel(self) -> str:
        """The phone number for a ``tel:`` link (digits and a leading +)."""
        return "".join(ch for ch in self.phone if ch.isdigit() or ch == "+")


class FaqEntry(models.Model):
    """A question and answer on the public FAQ page, edited by staff in admin; the answer is HTML
    rendered through the same allow-list as lesson texts (``portal.sanitize.rich_html``)."""

    topic = models.CharField(
        pgettext_lazy("faq", "topic"),
        max_length=50,
        blank=True,
        help_text=_("Entries with the same topic are shown together."),
    )
    question = models.CharField(pgettext_lazy("faq", "question"), max_length=200)
    answer_html = models.TextField(
        pgettext_lazy("faq", "answer"),
        help_text=_("HTML: paragraphs, lists, tables and links; anything else is removed."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Smaller numbers first."))
    published = models.BooleanField(pgettext_lazy("faq", "published"), default=True)

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.question


class Announcement(models.Model):
    """A notice to the public (考试时间调整, next year's training, ...) written by staff in admin; shown
    on the home page and the announcements pages between ``publish_at`` and ``expires_at``
    (``portal.selectors.announcements_current``), pinned ones first. The body is HTML rendered through
    the allow-list of lesson texts (``portal.sanitize.rich_html``)."""

    title = models.CharField(_("title"), max_length=120)
    body_html = models.TextField(
        _("text"), help_text=_("HTML: paragraphs, lists, tables and links; anything else is removed.")
    )
    #: The programme the announcement is about (optional); a string reference: portal imports no app.
    programme = models.ForeignKey(
        "registration.Programme",
        verbose_name=_("programme"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="announcements",
    )
    publish_at = models.DateTimeField(
        _("published from"), default=timezone.now, help_text=_("Hidden until this time.")
    )
    expires_at = models.DateTimeField(
        _("shown until"), null=True, blank=True, help_text=_("Empty: shown until removed.")
    )
    pinned = models.BooleanField(_("pinned"), default=False, help_text=_("Pinned announcements come first."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-pinned", "-publish_at", "-pk"]
        indexes = [models.Index(fields=["publish_at"], name="portal_announcement_publish")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=models.F("publish_at")),
                name="announcement_expires_after_publish",
                violation_error_message=_("The end of the display must be after its start."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class StaffDigest(models.Model):
    """One digest slot of one staff role (``portal.dashboard.services.staff_digest_send``): the
    claim that makes the digest idempotent (one row per role and slot) and where the next digest
    counts from."""

    role = models.CharField(_("role"), max_length=20)
    slot_at = models.DateTimeField(_("digest time"))
    since = models.DateTimeField(_("counted from"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)

    class Meta:
        verbose_name = _("staff digest")
        verbose_name_plural = _("staff digests")
        ordering = ["-slot_at", "role"]
        constraints = [models.UniqueConstraint(fields=["role", "slot_at"], name="staff_digest_one_per_slot")]

    def __str__(self) -> str:
        return f"{self.role} {timezone.localtime(self.slot_at):%Y-%m-%d %H:%M}"
