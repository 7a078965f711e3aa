"""The admin index's to-do panel: how many things wait for staff, each linked to its filtered list.

:func:`admin_todo_items` is the one selector: at most one query per kind of work (trainees,
payments, invoices, certificates, lessons), whatever the number of rows, and only for the lists the
user acts on (the permission of the work: reviewing, confirming, issuing, mailing, fixing a lesson),
and one for the holiday table. The later apps' facts are read without importing them (``apps.get_model`` and their
stored values), as the pipeline's import order asks; each link is the same filter the list offers.
"""

from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .workdays import working_days_add

#: Certificates are "due soon" within this many working days (certificates.selectors.DUE_SOON_WORKING_DAYS).
CERTIFICATE_DUE_SOON_WORKING_DAYS = 2


@dataclass(frozen=True)
class TodoItem:
    key: str
    label: str
    count: int
    url: str
    urgent: bool = False


def _url(name: str, params: dict[str, str]) -> str:
    try:
        return f"{reverse(name)}?{urlencode(params)}"
    except NoReverseMatch:  # the app's admin is not installed
        return ""


def _model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _trainee_items(user) -> list[TodoItem]:
    Trainee = _model("registration.Trainee")
    if Trainee is None or not user.has_perm("registration.change_trainee"):  # the review permission
        return []
    waiting = Q(status="submitted")  # exactly what the linked list shows
    counts = Trainee.objects.aggregate(
        review=Count("pk", filter=waiting),
        attachment2=Count("pk", filter=waiting & Q(declared_at__isnull=False)),
    )
    changelist = "admin:registration_trainee_changelist"
    return [
        TodoItem(
            "trainees_review",
            _("Registrations awaiting review"),
            counts["review"],
            _url(changelist, {"status__exact": "submitted"}),
        ),
        TodoItem(
            "attachment2_review",
            _("Attachments 2 completed, awaiting review"),
            counts["attachment2"],
            _url(changelist, {"status__exact": "submitted", "attachment2": "complete"}),
        ),
    ]


def _payment_items(user) -> list[TodoItem]:
    Payment = _model("payments.Payment")
    if Payment is None or not user.has_perm("payments.confirm_payment"):
        return []
    count = Payment.objects.filter(status="reported").count()
    return [
        TodoItem(
            "payments_reported",
            _("Payments reported, awaiting confirmation"),
            count,
            _url("admin:payments_payment_changelist", {"status__exact": "reported"}),
        )
    ]


def _invoice_items(user, today: date) -> list[TodoItem]:
    Invoice = _model("payments.Invoice")
    if Invoice is None or not user.has_perm("payments.change_invoice"):  # issuing
        return []
    due = Q(status="requested", payment__status="confirmed")
    counts = Invoice.objects.aggregate(
        due=Count("pk", filter=due), overdue=Count("pk", filter=due & Q(due_on__lt=today))
    )
    changelist = "admin:payments_invoice_changelist"
    return [
        TodoItem("invoices_due", _("Invoices to issue"), counts["due"], _url(changelist, {"queue": "todo"})),
        TodoItem(
            "invoices_overdue",
            _("Invoices overdue"),
            counts["overdue"],
            _url(changelist, {"queue": "overdue"}),
            urgent=True,
        ),
    ]


def _certificate_items(user, today: date) -> list[TodoItem]:
    Certificate = _model("certificates.Certificate")
    if Certificate is None or not user.has_perm("certificates.change_certificate"):  # mailing
        return []
    to_mail = Q(status="valid") & ~Q(mailing_status="mailed")
    soon = working_days_add(start=today, days=CERTIFICATE_DUE_SOON_WORKING_DAYS)
    counts = Certificate.objects.aggregate(
        to_mail=Count("pk", filter=to_mail),
        overdue=Count("pk", filter=to_mail & Q(mail_due_on__lt=today)),
        due_soon=Count("pk", filter=to_mail & Q(mail_due_on__gte=today, mail_due_on__lte=soon)),
    )
    changelist = "admin:certificates_certificate_changelist"
    return [
        TodoItem(
            "certificates_to_mail",
            _("Certificates to mail"),
            counts["to_mail"],
            _url(changelist, {"mailing": "pending"}),
        ),
        TodoItem(
            "certificates_due_soon",
            _("Certificates due for mailing soon"),
            counts["due_soon"],
            _url(changelist, {"mailing": "due_soon"}),
        ),
        TodoItem(
            "certificates_overdue",
            _("Certificates overdue for mailing"),
            counts["overdue"],
            _url(changelist, {"mailing": "overdue"}),
            urgent=True,
        ),
    ]


def _lesson_items(user) -> list[TodoItem]:
    Lesson = _model("learning.Lesson")
    if Lesson is None or not user.has_perm("learning.change_lesson"):
        return []
    count = Lesson.objects.filter(video_status="failed").count()
    return [
        TodoItem(
            "videos_failed",
            _("Lesson videos that failed processing"),
            count,
            _url("admin:learning_lesson_changelist", {"video_status__exact": "failed"}),
            urgent=True,
        )
    ]


def admin_todo_items(*, user, today: date | None = None) -> list[TodoItem]:
    """What waits for this user, in the order of the pipeline: at most six queries (one per kind of
    work the user may see, and the holiday table for "due soon"), whatever the number of rows."""
    if not (user.is_active and user.is_staff):
        return []
    today = today or timezone.localdate()
    return [
        *_trainee_items(user),
        *_payment_items(user),
        *_invoice_items(user, today),
        *_certificate_items(user, today),
        *_lesson_items(user),
    ]
