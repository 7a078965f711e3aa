"""Validation shared by every app: mainland mobile numbers."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEPARATORS = re.compile(r"[\s\-()（）.]")
_PREFIX = re.compile(r"^(?:\+86|0086|86)(?=1\d{10}$)")


def mobile_normalize(value: str) -> str:
    """Strip separators and the +86 / 0086 country prefix; return what is left (not yet validated)."""
    cleaned = _SEPARATORS.sub("", str(value or "")).strip()
    return _PREFIX.sub("", cleaned)


def mobile_validate(value: str) -> str:
    """Return the 11-digit mainland mobile number for ``value`` or raise ``ValidationError``."""
    number = mobile_normalize(value)
    if not re.fullmatch(r"1\d{10}", number):
        raise ValidationError(
            _("Enter a mainland China mobile number of 11 digits, e.g. 13812345678."),
            code="mobile_format",
        )
    parsed = phonenumbers.parse(number, "CN")
    kind = phonenumbers.number_type(parsed)
    mobile_kinds = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    if not phonenumbers.is_valid_number(parsed) or kind not in mobile_kinds:
        raise ValidationError(
            _("%(number)s is not a valid mainland China mobile number."),
            code="mobile_invalid",
            params={"number": number},
        )
    return number


def axes_username(request, credentials) -> str:
    """django-axes: count failures against the normalised mobile number, whatever the spelling."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return mobile_normalize(raw)
