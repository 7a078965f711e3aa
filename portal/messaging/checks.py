"""``manage.py check`` on the SMS configuration.

* ``portal.W201`` (deploy): SMS only logged (console / locmem backend): trainees without an
  e-mail address would get nothing.
* ``portal.E202``: a provider backend without its keys, signature or (Tencent) SmsSdkAppId.
* ``portal.W203``: a provider backend without the template code of some message kinds (those
  messages fail until it is set).
"""

from django.conf import settings
from django.core import checks

from .kinds import sms_kinds

LOCAL_BACKENDS = {"ConsoleSmsBackend", "LocmemSmsBackend"}


def _backend_class_name() -> str:
    return str(getattr(settings, "SMS_BACKEND", "")).rsplit(".", 1)[-1]


@checks.register(checks.Tags.compatibility, deploy=True)
def check_sms_backend_sends(app_configs=None, **kwargs):
    if _backend_class_name() not in LOCAL_BACKENDS:
        return []
    return [
        checks.Warning(
            f"SMS_BACKEND is {settings.SMS_BACKEND}: SMS are only logged, never sent.",
            hint="Set SMS_BACKEND to portal.messaging.aliyun.AliyunSmsBackend or "
            "portal.messaging.tencent.TencentSmsBackend with its keys and templates (README, SMS).",
            id="portal.W201",
        )
    ]


@checks.register(checks.Tags.compatibility)
def check_sms_provider_configured(app_configs=None, **kwargs):
    name = _backend_class_name()
    if name in LOCAL_BACKENDS:
        return []
    required = ["SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME"]
    if name == "TencentSmsBackend":
        required.append("SMS_APP_ID")
    errors = [
        checks.Error(f"{setting} is not set for {name}.", id="portal.E202")
        for setting in required
        if not getattr(settings, setting, "")
    ]
    missing = [kind.name for kind in sms_kinds() if not kind.template_code()]
    if missing:
        errors.append(
            checks.Warning(
                f"No SMS template code for: {', '.join(missing)}.",
                hint="Register the templates (manage.py sms_templates) and set SMS_TEMPLATES or "
                "SMS_TEMPLATE_<KIND>; until then these messages fail.",
                id="portal.W203",
            )
        )
    return errors
