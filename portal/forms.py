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

    def clean_username(self) -> str:
        return mobile_normalize(self.cleaned_data["username"])
