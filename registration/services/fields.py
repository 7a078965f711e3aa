"""Field checks shared by the registration services: the words of the notice, phone numbers, and
:class:`Checker`, which collects every problem of a set of fields (``{field: [messages]}``) so a
form or a roster is answered with all of them at once.
"""

import re
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxLengthValidator
from django.utils.translation import gettext as _

from portal.validators import mobile_validate

from ..models import CertificateType, TrainingCategory

_LANDLINE = re.compile(r"^(?:0\d{2,3}-?)?\d{7,8}(?:-\d{1,6})?$|^[48]00-?\d{3}-?\d{4}$")
_PHONE_SEPARATORS = re.compile(r"[\s()（）]")

# Roster spreadsheets and forms may carry the words of the notice instead of the codes.
CERTIFICATE_WORDS = {
    CertificateType.PRINCIPAL.value: CertificateType.PRINCIPAL,
    CertificateType.SAFETY_MANAGER.value: CertificateType.SAFETY_MANAGER,
    "主要负责人": CertificateType.PRINCIPAL,
    "安全生产管理人员": CertificateType.SAFETY_MANAGER,
}
CATEGORY_WORDS = {
    TrainingCategory.INITIAL.value: TrainingCategory.INITIAL,
    TrainingCategory.REFRESHER.value: TrainingCategory.REFRESHER,
    "初始培训": TrainingCategory.INITIAL,
    "初次培训": TrainingCategory.INITIAL,
    "再培训": TrainingCategory.REFRESHER,
    "年度再培训": TrainingCategory.REFRESHER,
}


def text_clean(value) -> str:
    return str(value if value is not None else "").strip()


def phone_validate(value: str) -> str:
    """A mainland mobile number or a landline with its area code (``020-12345678``)."""
    raw = _PHONE_SEPARATORS.sub("", text_clean(value))
    if not raw:
        raise ValidationError(_("This field is required."), code="required")
    if raw.startswith(("1", "+86", "0086")):
        return mobile_validate(raw)
    if not _LANDLINE.match(raw):
        raise ValidationError(
            _("Enter a mobile number or a landline with its area code, e.g. 020-12345678."),
            code="phone_invalid",
        )
    return raw


def mobile_or_none(value: str) -> str | None:
    try:
        return mobile_validate(value)
    except ValidationError:
        return None


class Checker:
    """Collects the messages of one set of fields (``field -> [messages]``)."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = defaultdict(list)

    def add(self, name: str, message: str) -> None:
        self.errors[name].append(str(message))

    def run(self, name: str, func, value):
        try:
            return func(value)
        except ValidationError as error:
            for message in error.messages:
                self.add(name, message)
            return None

    def required(self, name: str, value, max_length: int | None = None) -> str:
        text = text_clean(value)
        if not text:
            self.add(name, _("This field is required."))
        elif max_length is not None:
            self.run(name, MaxLengthValidator(max_length), text)
        return text

    def email(self, name: str, value, *, required: bool = False) -> str:
        text = text_clean(value)
        if not text:
            if required:
                self.add(name, _("This field is required."))
            return ""
        self.run(name, EmailValidator(), text)
        return text
