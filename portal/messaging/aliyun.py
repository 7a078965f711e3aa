"""Alibaba Cloud SMS (阿里云短信服务) through the official SDK ``alibabacloud-dysmsapi20170525``.

``SendSms`` (API version 2017-05-25) with ``PhoneNumbers``, ``SignName`` (``SMS_SIGN_NAME``),
``TemplateCode`` (the kind's code from ``SMS_TEMPLATES``), ``TemplateParam`` (the variables as a
JSON object) and ``OutId`` (the portal's message id). The SDK signs each request with Alibaba
Cloud's V3 signature (``Authorization: ACS3-HMAC-SHA256 ...``) using ``SMS_ACCESS_KEY_ID`` /
``SMS_ACCESS_KEY_SECRET``. The answer is ``{"Code": "OK", "BizId": ..., "RequestId": ...}``; any
other ``Code`` is an error (HTTP 200 as well). The SDK's own retries are off: the Celery task
retries with backoff.
"""

import json

from .backends import PermanentSmsError, ProviderSmsBackend, TemporarySmsError
from .kinds import MessageKind

DEFAULT_HOST = "dysmsapi.aliyuncs.com"
DEFAULT_REGION = "cn-hangzhou"

# Business codes answered with HTTP 200 that are worth trying again later (flow control, the
# platform's own failures). Everything else (isv.MOBILE_NUMBER_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL,
# isv.SMS_SIGNATURE_ILLEGAL, isv.TEMPLATE_MISSING_PARAMETERS, isv.AMOUNT_NOT_ENOUGH, ...) is final.
TEMPORARY_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # per-number flow control (1 a minute, 5 an hour for codes)
        "isv.DAY_LIMIT_CONTROL",
        "isv.MONTH_LIMIT_CONTROL",
        "isp.SYSTEM_ERROR",
        "isp.GATEWAY_ERROR",
        "SignatureNonceUsed",
        "ServiceUnavailable",
        "InternalError",
    }
)
PERMANENT_PLATFORM_CODES = frozenset({"isp.RAM_PERMISSION_DENY"})


def error_is_temporary(code: str, status: int | None = None) -> bool:
    if code in PERMANENT_PLATFORM_CODES:
        return False
    return (
        code in TEMPORARY_CODES
        or code.startswith(("Throttling", "isp."))
        or (status is not None and status >= 500)
    )


class AliyunSmsBackend(ProviderSmsBackend):
    name = "aliyun"

    def __init__(self):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        scheme, host = self.endpoint(DEFAULT_HOST)
        timeout_ms = self.timeout_seconds() * 1000
        self.client = Client(
            Config(
                access_key_id=self.setting("SMS_ACCESS_KEY_ID"),
                access_key_secret=self.setting("SMS_ACCESS_KEY_SECRET"),
                region_id=self._region(),
                endpoint=host,
                protocol=scheme.upper(),
                connect_timeout=timeout_ms,
                read_timeout=timeout_ms,
                no_proxy=host.split(":")[0],
            )
        )
        self.sign_name = self.setting("SMS_SIGN_NAME")

    @staticmethod
    def _region() -> str:
        from django.conf import settings

        return str(getattr(settings, "SMS_REGION", "") or DEFAULT_REGION)

    def send_template(self, *, mobile: str, kind: MessageKind, params: dict, reference: str = "") -> str:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        from darabonba.exceptions import ResponseException, UnretryableException
        from darabonba.runtime import RuntimeOptions

        request = SendSmsRequest(
            phone_numbers=mobile,
            sign_name=self.sign_name,
            template_code=self.template_code(kind),
            template_param=json.dumps(kind.params_check(params), ensure_ascii=False),
            out_id=reference or None,
        )
        try:
            response = self.client.send_sms_with_options(request, RuntimeOptions(autoretry=False))
        except ResponseException as exc:  # HTTP 4xx / 5xx from the gateway (signature, throttling)
            code = str(getattr(exc, "code", "") or "")
            status = getattr(exc, "status_code", None)
            error = TemporarySmsError if error_is_temporary(code, status) else PermanentSmsError
            raise error(f"Aliyun {status}: {code}", code=code) from None
        except UnretryableException as exc:  # no answer: connection refused, timeout
            raise TemporarySmsError(f"Aliyun unreachable: {type(exc.inner_exception).__name__}") from None
        body = response.body
        code = str(body.code or "")
        if code == "OK" and body.biz_id:
            return str(body.biz_id)
        error = TemporarySmsError if error_is_temporary(code) else PermanentSmsError
        raise error(f"Aliyun {code}: {body.message or ''}".strip(), code=code)
