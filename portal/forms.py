from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .validators import mobile_normalize


class MobileLoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _("The mobile number or the password is wrong. Both are case-sensitive."),
        "inactive": _("This account is inactive."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # AuthenticationForm caps the field at the model's 11 characters; people type "+86 138-...".
        self.fields["username"].max_length = 20
        self.fields["username"].widget.attrs["maxlength"] = "20"

    def clean_username(self) -> str:
        return mobile_normalize(self.cleaned_data["username"])
