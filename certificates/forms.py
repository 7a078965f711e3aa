from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from portal.uploads import image_upload_check

from .models import CertificateSettings
from .spreadsheets import MAX_IMPORT_BYTES

MAX_SEAL_BYTES = 2 * 1024 * 1024


class VerifyForm(forms.Form):
    number = forms.CharField(
        label=_("Certificate number"),
        max_length=20,
        validators=[
            RegexValidator(
                r"^\s*[A-Za-z]{0,8}\d{6,16}\s*$",
                _("A certificate number is letters followed by digits, e.g. AQ2026000123."),
            )
        ],
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    name = forms.CharField(
        label=_("Holder's name"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip().upper()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if any(ord(ch) < 32 for ch in name):
            raise forms.ValidationError(_("Enter the name as printed on the certificate."))
        return name


class TrackingImportForm(forms.Form):
    file = forms.FileField(
        label=_("Courier file (.xlsx or .csv)"),
        help_text=_(
            "The SF Express export with the columns 用户订单号 (certificate number) and 运单号 (tracking number)."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload


class MarkMailedForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=30)


class CertificateSettingsForm(forms.ModelForm):
    class Meta:
        model = CertificateSettings
        fields = [
            "seal",
            "number_prefix",
            "mailing_working_days",
            "sender_name",
            "sender_phone",
            "sender_address",
        ]

    def clean_seal(self):
        """The seal is printed on every certificate: a real PNG or JPEG image, at most 2 MB."""
        seal = self.cleaned_data.get("seal")
        if not seal or not hasattr(seal, "content_type"):
            return seal  # unchanged
        image_upload_check(seal, max_bytes=MAX_SEAL_BYTES).decode()
        return seal


class IssuerExportForm(forms.Form):
    """The issuer's list by exam date (the list action exports selected rows instead)."""

    passed_from = forms.DateField(label=_("Exam passed from"), widget=forms.DateInput(attrs={"type": "date"}))
    passed_to = forms.DateField(label=_("Exam passed until"), widget=forms.DateInput(attrs={"type": "date"}))
    unsent_only = forms.BooleanField(
        label=_("Only certificates not yet sent to the issuer"), required=False, initial=True
    )
    record = forms.BooleanField(
        label=_("Record them as sent to the issuer today"),
        required=False,
        help_text=_("Leave unticked to download the list without recording anything."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("passed_from"), cleaned.get("passed_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The first day comes after the last one."))
        return cleaned


class IssuerBatchForm(forms.Form):
    """Record the selected certificates as sent to the issuer."""

    sent_on = forms.DateField(label=_("Sent on"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    resend = forms.BooleanField(
        label=_("Some were sent before: they were sent again"),
        required=False,
        help_text=_("Certificates already sent in a batch move to this one only when this is ticked."),
    )


class IssuerImportForm(forms.Form):
    file = forms.FileField(
        label=_("The issuer's file (.xlsx or .csv)"),
        help_text=_(
            "The list sent to the issuer, with its certificate numbers filled in the column 发证机关证书编号."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload
