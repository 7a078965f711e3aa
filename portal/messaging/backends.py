"""SMS backends: what every backend does, the errors it raises, and the two that send nothing.

A backend is a class named by ``SMS_BACKEND`` with

* ``send_template(*, mobile, kind, params, reference) -> str``: send the kind's template filled
  with ``params`` (checked against the kind's variables) and return the provider's message id.
  ``reference`` is the portal's own id of the message (providers echo it in delivery reports).
* ``send(mobile, message) -> str``: free text. Only the console and locmem backends can: the
  providers refuse anything but a registered template (:class:`PermanentSmsError`).

Failures are :class:`TemporarySmsError` (throttling, network, the provider's server errors: the
message is tried again later) or :class:`PermanentSmsError` (a wrong number, a template not
approved, wrong keys: trying again would fail the same way). Neither carries the message text or
the variables (they may hold a code or a private link).
"""

import itertools
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

from .kinds import MessageKind

logger = logging.getLogger("portal.sms")


class SmsError(Exception):
    """A message the provider did not accept. ``code`` is the provider's error code."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


class TemporarySmsError(SmsError):
    """Try again later: throttling, a network error, the provider's server error."""


class PermanentSmsError(SmsError):
    """Do not try again: invalid number, template not approved, wrong configuration."""


@dataclass(frozen=True)
class SmsMessage:
    """One SMS recorded by :class:`LocmemSmsBackend`."""

    mobile: str
    message: str
    kind: str = ""
    params: dict = field(default_factory=dict)
    template_code: str = ""


#: What :class:`LocmemSmsBackend` sent (tests read it through the ``sms_outbox`` fixture).
sms_outbox: list[SmsMessage] = []
_local_ids = itertools.count(1)


class BaseSmsBackend:
    name = "base"

    def send(self, mobile: str, message: str) -> str:
        raise PermanentSmsError(
            "The SMS provider sends registered templates only: give the notice a message kind.",
            code="NoTemplate",
        )

    def send_template(self, *, mobile: str, kind: MessageKind, params: dict, reference: str = "") -> str:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Development: logs each SMS (production logs hide the text: ``portal.log_filters``)."""

    name = "console"

    def send(self, mobile: str, message: str) -> str:
        logger.info("SMS to %s: %s", mobile, message)
        return f"console-{next(_local_ids)}"

    def send_template(self, *, mobile: str, kind: MessageKind, params: dict, reference: str = "") -> str:
        return self.send(mobile, kind.render(kind.params_check(params)))


class LocmemSmsBackend(BaseSmsBackend):
    """Tests: each SMS is appended to :data:`sms_outbox`, with the text rendered from its template."""

    name = "locmem"

    def send(self, mobile: str, message: str) -> str:
        sms_outbox.append(SmsMessage(mobile=mobile, message=message))
        return f"locmem-{next(_local_ids)}"

    def send_template(self, *, mobile: str, kind: MessageKind, params: dict, reference: str = "") -> str:
        values = kind.params_check(params)
        sms_outbox.append(
            SmsMessage(
                mobile=mobile,
                message=kind.render(values),
                kind=kind.name,
                params=values,
                template_code=kind.template_code(),
            )
        )
        return f"locmem-{next(_local_ids)}"


class ProviderSmsBackend(BaseSmsBackend):
    """What the provider backends share: the settings they need and the template code lookup."""

    def template_code(self, kind: MessageKind) -> str:
        code = kind.template_code()
        if not code:
            raise PermanentSmsError(
                f"No template code for the message kind {kind.name!r}: set SMS_TEMPLATES or {kind.setting}.",
                code="NoTemplateCode",
            )
        return code

    @staticmethod
    def setting(name: str) -> str:
        value = str(getattr(settings, name, "") or "")
        if not value:
            raise PermanentSmsError(f"{name} is not set.", code="NotConfigured")
        return value

    @staticmethod
    def endpoint(default_host: str) -> tuple[str, str]:
        """``(scheme, host[:port])`` of the provider's API: ``SMS_ENDPOINT`` or the default."""
        configured = str(getattr(settings, "SMS_ENDPOINT", "") or "").strip().rstrip("/")
        if not configured:
            return "https", default_host
        scheme, separator, host = configured.partition("://")
        return (scheme.lower(), host) if separator else ("https", configured)

    @staticmethod
    def timeout_seconds() -> int:
        return int(getattr(settings, "SMS_TIMEOUT_SECONDS", 10) or 10)


def sms_backend() -> BaseSmsBackend:
    """An instance of the configured ``SMS_BACKEND``."""
    return import_string(settings.SMS_BACKEND)()
