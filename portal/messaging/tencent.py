"""Tencent Cloud SMS (腾讯云短信) through the official SDK ``tencentcloud-sdk-python-sms``.

``SendSms`` (API version 2021-01-11) with ``PhoneNumberSet`` (``+86`` and the number),
``SmsSdkAppId`` (``SMS_APP_ID``), ``SignName`` (``SMS_SIGN_NAME``), ``TemplateId`` (the kind's
code from ``SMS_TEMPLATES``), ``TemplateParamSet`` (Tencent's variables are positional: the kind's
named variables in the order they appear in its template, :meth:`MessageKind.positional`) and
``SessionContext`` (the portal's message id). The SDK signs each request with TC3-HMAC-SHA256
using ``SMS_ACCESS_KEY_ID`` (SecretId) / ``SMS_ACCESS_KEY_SECRET`` (SecretKey).

A request-level failure answers ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``
(the SDK raises it); otherwise each number has its own status in ``SendStatusSet``, ``"Ok"`` when
sent, with the ``SerialNo`` that delivery reports quote.
"""

from .backends import PermanentSmsError, ProviderSmsBackend, TemporarySmsError
from .kinds import MessageKind

DEFAULT_HOST = "sms.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"

TEMPORARY_PREFIXES = (
    "LimitExceeded.",  # PhoneNumberThirtySecondLimit, PhoneNumberOneHourLimit, DeliveryFrequencyLimit...
    "RequestLimitExceeded",
    "InternalError",  # InternalError.Timeout, InternalError.RequestTimeException, ...
    "ClientNetworkError",
    "ServerNetworkError",
    "ResourceUnavailable",
)
# Final despite their prefix: a number's daily quota or the account's own limits stay until staff act.
PERMANENT_CODES = frozenset(
    {
        "LimitExceeded.PhoneNumberCountLimit",
        "LimitExceeded.AppCountryOrRegionDailyLimit",
        "LimitExceeded.AppCountryOrRegionInBlacklist",
        "InternalError.SigVerificationFail",
    }
)


def error_is_temporary(code: str) -> bool:
    return code not in PERMANENT_CODES and code.startswith(TEMPORARY_PREFIXES)


class TencentSmsBackend(ProviderSmsBackend):
    name = "tencent"

    def __init__(self):
        from django.conf import settings
        from tencentcloud.common.credential import Credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111.sms_client import SmsClient

        scheme, host = self.endpoint(DEFAULT_HOST)
        profile = ClientProfile(
            httpProfile=HttpProfile(protocol=scheme, endpoint=host, reqTimeout=self.timeout_seconds())
        )
        self.client = SmsClient(
            Credential(self.setting("SMS_ACCESS_KEY_ID"), self.setting("SMS_ACCESS_KEY_SECRET")),
            str(getattr(settings, "SMS_REGION", "") or DEFAULT_REGION),
            profile,
        )
        self.app_id = self.setting("SMS_APP_ID")
        self.sign_name = self.setting("SMS_SIGN_NAME")

    def send_template(self, *, mobile: str, kind: MessageKind, params: dict, reference: str = "") -> str:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111.models import SendSmsRequest

        request = SendSmsRequest()
        request.PhoneNumberSet = [f"+86{mobile}"]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = self.template_code(kind)
        request.TemplateParamSet = kind.positional(kind.params_check(params))
        request.SessionContext = reference
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "")
            error = TemporarySmsError if error_is_temporary(code) else PermanentSmsError
            detail = "" if code == "ClientNetworkError" else f" {exc.get_message()}"
            raise error(f"Tencent {code}:{detail}".rstrip(":"), code=code) from None
        statuses = response.SendStatusSet or []
        if not statuses:
            raise TemporarySmsError("Tencent: no send status in the answer", code="NoStatus")
        status = statuses[0]
        code = str(status.Code or "")
        if code == "Ok" and status.SerialNo:
            return str(status.SerialNo)
        error = TemporarySmsError if error_is_temporary(code) else PermanentSmsError
        raise error(f"Tencent {code}: {status.Message or ''}".strip(), code=code)
