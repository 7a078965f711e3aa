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
