"""Payments: the collection settings, payment reports, bank statements and invoices.

Money is integer fen everywhere. A :class:`Payment` covers one or more trainees of one application;
finance confirms it (``payments.services.payments.payment_confirm``), which marks every trainee whose fee is
now covered as paid through ``registration.services.payment.trainee_mark_paid``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.storage import (  # migrations refer to <app>.models.private_storage
    private_storage,
    random_upload_path,
)
from registration.models import Application, Trainee


def _upload_path(folder: str, filename: str) -> str:
    return random_upload_path("payments", folder, filename)


def qr_upload_to(instance, filename: str) -> str:
    return _upload_path("qr", filename)


def screenshot_upload_to(instance, filename: str) -> str:
    return _upload_path("screenshots", filename)


def statement_upload_to(instance, filename: str) -> str:
    return _upload_path("statements", filename)


def invoice_upload_to(instance, filename: str) -> str:
    return _upload_path("invoices", filename)


def yuan(fen: int | None) -> str:
    """Format fen as yuan with two decimals (integer arithmetic, no float)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


class PaymentSettings(models.Model):
    """Where the money goes (one row, edited by finance in admin)."""

    payee_name = models.CharField(_("payee company name"), max_length=120)
    bank_name = models.CharField(_("bank (branch)"), max_length=120)
    account_number = models.CharField(_("account number"), max_length=40)
    qr_image = models.ImageField(
        _("collection QR code"),
        upload_to=qr_upload_to,
        blank=True,
        help_text=_("The association's collection code (UnionPay, Alipay and WeChat can scan it)."),
    )
    qr_instructions = models.TextField(
        _("QR payment instructions"),
        blank=True,
        help_text=_("Shown under the QR code on the payment page."),
    )
    transfer_instructions = models.TextField(
        _("bank transfer instructions"),
        blank=True,
        help_text=_("Shown under the bank account on the payment page."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("payment settings")
        verbose_name_plural = _("payment settings")

    def __str__(self) -> str:
        return self.payee_name


class Channel(models.TextChoices):
    UNIONPAY = "unionpay", _("UnionPay QuickPass (personal QR code)")
    ALIPAY = "alipay", _("Alipay (personal QR code)")
    WECHAT = "wechat", _("WeChat Pay (personal QR code)")
    BANK_TRANSFER = "bank_transfer", _("Corporate bank transfer")


class PaymentStatus(models.TextChoices):
    REPORTED = "reported", _("Reported, awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", pgettext_lazy("payment status", "Rejected")
    REFUNDED = "refunded", _("Refunded")


class PaymentSource(models.TextChoices):
    REPORT = "report", _("Reported by the payer")
    STATEMENT = "statement", _("From a bank statement")


class Payment(models.Model):
    """One payment (a QR payment or a bank transfer) covering trainees of one application."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.PROTECT, related_name="payments"
    )
    trainees = models.ManyToManyField(Trainee, verbose_name=_("trainees"), related_name="payments")
    channel = models.CharField(_("payment method"), max_length=20, choices=Channel.choices)
    source = models.CharField(
        _("source"), max_length=12, choices=PaymentSource.choices, default=PaymentSource.REPORT
    )
    payer_name = models.CharField(_("payer name"), max_length=120)
    payer_mobile = models.CharField(_("payer mobile"), max_length=11, blank=True)
    amount_fen = models.PositiveIntegerField(_("amount paid (fen)"))
    expected_fen = models.PositiveIntegerField(
        _("amount due (fen)"), help_text=_("Sum of the fees of the trainees it covers, when reported.")
    )
    transaction_no = models.CharField(
        _("transaction number"),
        max_length=64,
        unique=True,
        error_messages={"unique": _("This transaction number has already been reported.")},
    )
    paid_at = models.DateTimeField(_("paid at"))
    screenshot = models.FileField(
        _("screenshot"), storage=private_storage, upload_to=screenshot_upload_to, blank=True
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=PaymentStatus.choices,
        default=PaymentStatus.REPORTED,
        db_index=True,
    )
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    reported_ip = models.GenericIPAddressField(_("reported from"), null=True, blank=True)
    decided_at = models.DateTimeField(_("confirmed / rejected at"), null=True, blank=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed / rejected by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_reason = models.TextField(
        _("reason"), blank=True, help_text=_("Why it was rejected, or why a differing amount was accepted.")
    )
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("refunded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    refund_reason = models.TextField(_("refund reason"), blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-reported_at", "-id"]
        permissions = [
            ("confirm_payment", _("Can confirm or reject payments")),
            ("refund_payment", _("Can refund payments")),
            ("view_finance_report", _("Can view finance reports")),
        ]
        indexes = [models.Index(fields=["status", "decided_at"])]

    def __str__(self) -> str:
        return f"{self.transaction_no} {self.payer_name} ¥{yuan(self.amount_fen)}"

    @property
    def difference_fen(self) -> int:
        return self.amount_fen - self.expected_fen

    @property
    def is_mismatch(self) -> bool:
        return self.amount_fen != self.expected_fen


#: The item every invoice is issued for (the tax classification of the training fee, as finance
#: types it into the e-invoice platform): shown on the "mark issued" page and the invoice.
INVOICE_ITEM = "非学历教育*培训服务费"


class InvoiceStatus(models.TextChoices):
    REQUESTED = "requested", _("To be issued")
    ISSUED = "issued", _("Issued")
    CANCELLED = "cancelled", _("Cancelled")


class Invoice(models.Model):
    """The e-invoice of one payment: buyer details given by the payer, then number and PDF from finance."""

    payment = models.OneToOneField(
        Payment, verbose_name=_("payment"), on_delete=models.CASCADE, related_name="invoice"
    )
    buyer_name = models.CharField(_("invoice title (buyer name)"), max_length=120)
    buyer_tax_id = models.CharField(_("taxpayer ID"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail for the e-invoice"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=InvoiceStatus.choices,
        default=InvoiceStatus.REQUESTED,
        db_index=True,
    )
    due_on = models.DateField(
        _("issue by"),
        null=True,
        blank=True,
        help_text=_(
            "5 working days after the payment: the bank statement's transaction date, or the day the "
            "payer reported it."
        ),
    )
    deadline_provisional = models.BooleanField(
        _("provisional deadline"),
        default=False,
        help_text=_("Counted over days without official calendar data; recomputed when they are imported."),
    )
    number = models.CharField(_("invoice number"), max_length=40, blank=True)
    pdf = models.FileField(_("invoice PDF"), storage=private_storage, upload_to=invoice_upload_to, blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=~Q(number=""),
                name="invoice_number_unique",
                violation_error_message=_("This invoice number is already used."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.buyer_name} {self.number}".strip()


class StatementSource(models.TextChoices):
    BANK = "bank", _("Bank statement")
    ALIPAY = "alipay", _("Alipay export")
    WECHAT = "wechat", _("WeChat Pay export")
    UNIONPAY = "unionpay", _("UnionPay export")


SOURCE_CHANNEL = {
    StatementSource.BANK: Channel.BANK_TRANSFER,
    StatementSource.ALIPAY: Channel.ALIPAY,
    StatementSource.WECHAT: Channel.WECHAT,
    StatementSource.UNIONPAY: Channel.UNIONPAY,
}


class Statement(models.Model):
    """An uploaded bank statement or payment-platform export (CSV or XLSX)."""

    source = models.CharField(
        _("kind"), max_length=12, choices=StatementSource.choices, default=StatementSource.BANK
    )
    file = models.FileField(_("file"), storage=private_storage, upload_to=statement_upload_to)
    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("file fingerprint"), max_length=64, unique=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    credit_lines = models.PositiveIntegerField(_("credit lines"), default=0)
    skipped_lines = models.PositiveIntegerField(
        _("lines skipped"), default=0, help_text=_("Debits and lines already imported from another file.")
    )

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.filename


class LineStatus(models.TextChoices):
    MATCHED = "matched", _("Matched")
    AMBIGUOUS = "ambiguous", _("Ambiguous")
    UNMATCHED = "unmatched", _("Unmatched")
    CONFIRMED = "confirmed", _("Confirmed")
    IGNORED = "ignored", _("Ignored")


class StatementLine(models.Model):
    """One credit of a statement and what the matcher made of it."""

    statement = models.ForeignKey(
        Statement, verbose_name=_("statement"), on_delete=models.CASCADE, related_name="lines"
    )
    row_number = models.PositiveIntegerField(_("row"))
    serial = models.CharField(_("transaction serial"), max_length=80, unique=True)
    booked_at = models.DateTimeField(_("date"))
    amount_fen = models.PositiveIntegerField(_("amount (fen)"))
    payer_name = models.CharField(_("payer"), max_length=120, blank=True)
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=LineStatus.choices, db_index=True)
    candidate_ids = models.JSONField(_("candidate trainees"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    reported_payment = models.ForeignKey(
        Payment,
        verbose_name=_("reported payment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="statement_line",
    )

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement_id", "row_number"]

    def __str__(self) -> str:
        return f"{self.serial} ¥{yuan(self.amount_fen)} {self.payer_name}"
