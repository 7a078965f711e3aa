"""Forms of the unit account pages (the services check again; these give field-level errors)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.validators import mobile_validate

from ..consents import ATTACHMENT1_CONSENTS
from ..forms import ConsentFieldsMixin, RosterRowForm
from ..models import ConsentGiver
from ..validators import id_number_mask, uscc_validate


class UnitMobileForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_mobile(self) -> str:
        return mobile_validate(self.cleaned_data["mobile"])


class UnitCodeForm(UnitMobileForm):
    code = forms.CharField(
        label=_("Code from the SMS"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class ClaimCodeForm(forms.Form):
    code = UnitCodeForm.base_fields["code"]


class UnitRecoverForm(UnitMobileForm):
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=24,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    field_order = ["credit_code", "mobile"]

    def clean_credit_code(self) -> str:
        return uscc_validate(self.cleaned_data["credit_code"])


class UnitContactAddForm(UnitMobileForm):
    name = forms.CharField(label=_("Name"), max_length=50, required=False)
    field_order = ["name", "mobile"]


class TraineeRowForm(RosterRowForm):
    """A trainee's roster row on the application page after submission (attachment 1's own rules).

    The full ID number is never shown again on the private page: left empty, it stays as it is."""

    def __init__(self, *args, trainee=None, **kwargs):
        self.trainee = trainee
        super().__init__(*args, **kwargs)
        if trainee is not None:
            field = self.fields["id_number"]
            field.required = False
            field.help_text = _("Leave empty to keep %(masked)s; type the whole number to change it.") % {
                "masked": trainee.id_number_masked or id_number_mask(trainee.id_number)
            }

    def roster_data(self) -> dict:
        data = super().roster_data()
        if self.trainee is not None and not data.get("id_number"):
            data["id_number"] = self.trainee.id_number
        return data


class TraineeAddForm(ConsentFieldsMixin, TraineeRowForm):
    """A trainee added to the application: the contact confirms the ID-number consent for them."""

    consent_kinds = tuple(ATTACHMENT1_CONSENTS)
    consent_given_by = ConsentGiver.CONTACT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._consent_fields_add()
