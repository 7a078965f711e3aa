import math
from collections.abc import Sequence

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .login_throttle import login_failure_record, login_turn_claim
from .validators import mobile_normalize


def wait_text(seconds: int) -> str:
    """“30 seconds”, “4 minutes”: a wait as people say it."""
    if seconds < 120:
        return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}


class LoginThrottleMixin:
    """The per-account slow-down of :mod:`portal.login_throttle` on a log-in form (the trainees'
    and the admin's): while the account waits for its turn the password is not checked at all;
    a wrong password counts against the account, from whatever address."""

    throttle_wait = 0

    def clean(self):
        username = mobile_normalize(self.cleaned_data.get("username") or "")
        password = self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()
        wait = login_turn_claim(username=username, request=self.request)
        if wait:
            self.throttle_wait = wait
            raise ValidationError(
                _(
                    "There were too many failed log-ins to this account just now. Wait %(wait)s and try "
                    "again, or set a new password with a code by SMS."
                ),
                code="account_throttled",
                params={"wait": wait_text(wait)},
            )
        locked_before = self._axes_locked(username)
        try:
            return super().clean()
        finally:
            if self.user_cache is None and not locked_before:
                login_failure_record(username=username)

    def _axes_locked(self, username: str) -> bool:
        """Whether django-axes already refuses this account at this address (then the password is
        not checked, so the attempt is no guess to count)."""
        if self.request is None:
            return False
        from axes.handlers.proxy import AxesProxyHandler

        return AxesProxyHandler.is_locked(self.request, {"username": username})


class MobileLoginForm(LoginThrottleMixin, AuthenticationForm):
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


class PortalAdminAuthenticationForm(LoginThrottleMixin, AdminAuthenticationForm):
    """The admin log-in (``admin.site.login_form``) with the same per-account slow-down."""


def form_errors_apply(
    form: forms.BaseForm, error: ValidationError, *, field_map: dict[str, str] | None = None
) -> None:
    """Show a service's ``ValidationError`` on ``form``: each message under the field it names
    (``field_map`` renames service fields to form fields), the rest above the form.

    The one way views and admin pages hand a service's rule messages to the person: forms collect
    input, the services own the rules and their words.
    """
    field_map = field_map or {}
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            target = field_map.get(name, name)
            for item in errors:
                for message in item.messages:
                    form.add_error(target if target in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class ReasonForm(forms.Form):
    """The reason staff give for a decision (return, reject, revoke, confirm despite a mismatch).

    With ``presets`` (e.g. ``registration.selectors.return_reasons_active()``) the form also offers
    the preset reasons as tick boxes; the free text then becomes optional, and ``cleaned_data["reason"]``
    is the ticked presets and the free text joined with "；".
    """

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
    )

    def __init__(self, *args, help_text: str = "", presets: Sequence[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        if help_text:
            self.fields["reason"].help_text = help_text
        if presets:
            self.fields["presets"] = forms.MultipleChoiceField(
                label=_("Common reasons"),
                choices=[(text, text) for text in presets],
                widget=forms.CheckboxSelectMultiple,
                required=False,
            )
            self.fields["reason"].required = False
            self.fields["reason"].label = _("Reason (or add to the ticked ones)")
            self.order_fields(["presets", "reason"])

    def clean(self):
        cleaned = super().clean()
        if "presets" not in self.fields:
            return cleaned
        parts = [*cleaned.get("presets", []), (cleaned.get("reason") or "").strip()]
        reason = "；".join(part for part in parts if part)
        if not reason and not self.errors:
            raise ValidationError(_("Tick a common reason or write one."), code="reason_required")
        cleaned["reason"] = reason
        return cleaned
