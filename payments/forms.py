"""Forms: the payer's report, collection settings, statement upload, line resolution, invoice, report period."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc

from portal.uploads import image_upload_check
from portal.validators import mobile_validate
from registration.models import ApplicantKind

from .models import Channel, PaymentSettings, StatementSource
from .services.payments import paid_at_check, screenshot_clean


class TraineeChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        from .models import yuan

        return f"{obj.name} · {obj.get_training_category_display()} · ¥{yuan(obj.fee_fen)}"


def _payer_name(application, money) -> str:
    if application.kind == ApplicantKind.INDIVIDUAL:
        names = [row.trainee.name for row in money.live_rows]
        return names[0] if names else application.contact_name
    return application.unit_name


class PaymentReportForm(forms.Form):
    channel = forms.ChoiceField(label=_("Payment method"), choices=Channel.choices)
    trainees = TraineeChoiceField(
        label=_("Trainees this payment is for"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose the trainees this payment is for.")},
    )
    payer_name = forms.CharField(label=_("Payer name"), max_length=120)
    amount = forms.DecimalField(
        label=_("Amount paid (yuan)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("As on the receipt, e.g. 800.00"),
    )
    payer_mobile = forms.CharField(label=_("Payer mobile number"), max_length=20)
    transaction_no = forms.CharField(
        label=_("Transaction number"),
        max_length=64,
        help_text=_("The order or serial number on the payment receipt or bank slip."),
    )
    paid_at = forms.DateTimeField(
        label=_("Time paid"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
    )
    screenshot = forms.FileField(
        label=_("Screenshot of the payment (optional)"),
        required=False,
        help_text=_("JPEG or PNG, at most 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )
    invoice_buyer_name = forms.CharField(label=_("Invoice title (buyer name)"), max_length=120)
    invoice_tax_id = forms.CharField(
        label=_("Taxpayer ID (unified social credit code)"),
        max_length=20,
        required=False,
        help_text=_("Required for units; optional for individuals."),
    )
    invoice_email = forms.EmailField(label=_("E-mail for the e-invoice"))

    def __init__(self, *args, application, payable, money, **kwargs):
        """``payable``: the trainees the report may cover; ``money``: the application's
        :class:`registration.selectors.ApplicationMoney`, which fills in what the payer most likely
        paid: the trainees with something still due, that amount, now as the time (local time, in
        the input's format) and the unit's name (an individual's own name) as the payer."""
        super().__init__(*args, **kwargs)
        self.application = application
        self.fields["trainees"].queryset = payable
        if not self.is_bound:
            due_rows = money.due_rows
            self.initial.setdefault("invoice_buyer_name", application.invoice_title)
            self.initial.setdefault("invoice_tax_id", application.invoice_tax_id)
            self.initial.setdefault("invoice_email", application.invoice_email)
            self.initial.setdefault("trainees", [row.trainee.pk for row in due_rows])
            if money.due_fen:
                self.initial.setdefault("amount", money.due_amount)
            self.initial.setdefault("payer_name", _payer_name(application, money))
            self.initial.setdefault("paid_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_amount(self) -> int:
        amount: Decimal = self.cleaned_data["amount"]
        return int(amount * 100)

    def clean_paid_at(self):
        paid_at = self.cleaned_data["paid_at"]
        try:
            paid_at_check(paid_at=paid_at)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["paid_at"]) from exc
        return paid_at

    def clean_payer_mobile(self) -> str:
        return mobile_validate(self.cleaned_data["payer_mobile"])

    def clean_invoice_tax_id(self) -> str:
        value = self.cleaned_data["invoice_tax_id"].strip().upper()
        if value and not uscc.is_valid(value):
            raise forms.ValidationError(_("This is not a valid unified social credit code."))
        if not value and self.application.kind == "unit":
            raise forms.ValidationError(_("A unit's invoice needs its unified social credit code."))
        return value

    def clean_screenshot(self):
        upload = self.cleaned_data.get("screenshot")
        if not upload:
            return None
        return screenshot_clean(upload)


QR_IMAGE_MAX_BYTES = 2 * 1024 * 1024


class PaymentSettingsForm(forms.ModelForm):
    """The collection settings in admin; the QR code image is small (at most 2 MB)."""

    class Meta:
        model = PaymentSettings
        fields = [
            "payee_name",
            "bank_name",
            "account_number",
            "qr_image",
            "qr_instructions",
            "transfer_instructions",
        ]

    def clean_qr_image(self):
        upload = self.cleaned_data.get("qr_image")
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            image_upload_check(upload, max_bytes=QR_IMAGE_MAX_BYTES).decode()
        return upload


class StatementUploadForm(forms.Form):
    source = forms.ChoiceField(label=_("Kind of file"), choices=StatementSource.choices)
    file = forms.FileField(
        label=_("Statement file (CSV or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )


class LineResolveForm(forms.Form):
    trainees = TraineeChoiceField(
        label=_("Trainees this line pays for"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    mismatch_reason = forms.CharField(
        label=_("Reason for accepting a differing amount"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
    )

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainees"].queryset = queryset


class InvoiceIssueForm(forms.Form):
    number = forms.CharField(label=_("Invoice number"), max_length=40)
    pdf = forms.FileField(label=_("Invoice PDF"), widget=forms.ClearableFileInput(attrs={"accept": ".pdf"}))


class ReportPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("The end date must not be before the start date."))
        return data
