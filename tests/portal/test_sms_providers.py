"""Alibaba Cloud and Tencent Cloud SMS through their official SDKs, against local stand-ins.

The stand-ins (``tests/portal/sms_fakes.py``) run on the loopback interface, verify each
request's signature as the provider documents it and answer in the provider's success and error
shapes; the SDKs' endpoint points at them (``SMS_ENDPOINT``). Nothing reaches the internet.
"""

import dataclasses
import json
import socket

import pytest
from django.core import mail

from portal.messaging.aliyun import AliyunSmsBackend
from portal.messaging.backends import PermanentSmsError, TemporarySmsError
from portal.messaging.kinds import KINDS, sms_kinds
from portal.messaging.tencent import TencentSmsBackend
from portal.models import MessageStatus, OutboundMessage
from portal.notifications import Notice, notices_deliver

from .sms_fakes import SAMPLE_VALUES, FakeProvider, Request, aliyun_verify, tencent_verify

KEY_ID, SECRET = "LTAI5tSmsTestKeyId", "sms-test-secret-1f0c9e"
TEMPLATES = {kind.name: f"SMS_{480000 + index}" for index, kind in enumerate(sms_kinds())}
TENCENT_TEMPLATES = {kind.name: str(2_100_000 + index) for index, kind in enumerate(sms_kinds())}
MOBILE = "13812345678"


def _params(kind) -> dict[str, str]:
    return {name: SAMPLE_VALUES[name] for name in kind.variables}


@pytest.fixture
def aliyun(settings):
    with FakeProvider("aliyun", {KEY_ID: SECRET}) as server:
        settings.SMS_BACKEND = "portal.messaging.aliyun.AliyunSmsBackend"
        settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET = KEY_ID, SECRET
        settings.SMS_SIGN_NAME = "市安全生产协会"
        settings.SMS_TEMPLATES = TEMPLATES
        settings.SMS_ENDPOINT = server.url
        yield server


@pytest.fixture
def tencent(settings):
    with FakeProvider("tencent", {KEY_ID: SECRET}) as server:
        settings.SMS_BACKEND = "portal.messaging.tencent.TencentSmsBackend"
        settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET = KEY_ID, SECRET
        settings.SMS_SIGN_NAME = "市安全生产协会"
        settings.SMS_APP_ID = "1400787878"
        settings.SMS_TEMPLATES = TENCENT_TEMPLATES
        settings.SMS_ENDPOINT = server.url
        yield server


def test_every_variable_has_a_sample():
    assert {name for kind in sms_kinds() for name in kind.variables} <= set(SAMPLE_VALUES)


@pytest.mark.parametrize("kind", sms_kinds(), ids=lambda kind: kind.name)
def test_aliyun_receives_each_kind_signed(aliyun, kind):
    biz_id = AliyunSmsBackend().send_template(mobile=MOBILE, kind=kind, params=_params(kind), reference="42")
    assert aliyun.rejected == []
    (request,) = aliyun.accepted
    assert request["PhoneNumbers"] == MOBILE
    assert request["SignName"] == "市安全生产协会"
    assert request["TemplateCode"] == TEMPLATES[kind.name]
    assert json.loads(request["TemplateParam"]) == _params(kind)
    assert request["OutId"] == "42"
    assert biz_id.startswith("9006197469364984^")


@pytest.mark.parametrize("kind", sms_kinds(), ids=lambda kind: kind.name)
def test_tencent_receives_each_kind_signed_with_positional_params(tencent, kind):
    serial = TencentSmsBackend().send_template(mobile=MOBILE, kind=kind, params=_params(kind), reference="42")
    assert tencent.rejected == []
    (request,) = tencent.accepted
    assert request["PhoneNumberSet"] == ["+8613812345678"]
    assert request["SmsSdkAppId"] == "1400787878"
    assert request["SignName"] == "市安全生产协会"
    assert request["TemplateId"] == TENCENT_TEMPLATES[kind.name]
    assert request["TemplateParamSet"] == [SAMPLE_VALUES[name] for name in kind.variables]
    assert request["SessionContext"] == "42"
    assert serial.startswith("5000:")


def test_tencent_params_follow_the_template_order():
    kind = KINDS["certificate_mailed"]
    assert kind.tencent_text() == "您的培训证书{1}已由{2}寄出，运单号{3}（到付）。"
    assert kind.positional({"tracking": "SF1", "number": "AQ1", "courier": "顺丰速运"}) == [
        "AQ1",
        "顺丰速运",
        "SF1",
    ]


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_wrong_secret_fails_verification(request, settings, provider):
    server = request.getfixturevalue(provider)
    settings.SMS_ACCESS_KEY_SECRET = "not-the-secret"
    backend = AliyunSmsBackend() if provider == "aliyun" else TencentSmsBackend()
    kind = KINDS["certificate_issued"]
    with pytest.raises(PermanentSmsError) as raised:
        backend.send_template(mobile=MOBILE, kind=kind, params=_params(kind))
    expected = "SignatureDoesNotMatch" if provider == "aliyun" else "AuthFailure.SignatureFailure"
    assert raised.value.code == expected
    assert server.rejected == [expected] and server.accepted == []


def test_aliyun_verifier_refuses_a_changed_parameter(aliyun):
    kind = KINDS["password_code"]
    AliyunSmsBackend().send_template(mobile=MOBILE, kind=kind, params={"code": "608213"})
    (sent,) = aliyun.raw
    assert aliyun_verify(sent, {KEY_ID: SECRET}) is None
    changed = dataclasses.replace(sent, path=sent.path.replace("13812345678", "13812345679"))
    assert aliyun_verify(changed, {KEY_ID: SECRET}) == "SignatureDoesNotMatch"
    resigned_header = dataclasses.replace(sent, headers={**sent.headers, "x-acs-action": "SendBatchSms"})
    assert aliyun_verify(resigned_header, {KEY_ID: SECRET}) == "SignatureDoesNotMatch"
    assert aliyun_verify(sent, {KEY_ID: "another-secret"}) == "SignatureDoesNotMatch"


def test_tencent_verifier_refuses_a_changed_body(tencent):
    kind = KINDS["password_code"]
    TencentSmsBackend().send_template(mobile=MOBILE, kind=kind, params={"code": "608213"})
    (sent,) = tencent.raw
    assert tencent_verify(sent, {KEY_ID: SECRET}) is None
    changed = Request(sent.method, sent.path, sent.headers, sent.body.replace(b"608213", b"000000"))
    assert tencent_verify(changed, {KEY_ID: SECRET}) == "AuthFailure.SignatureFailure"
    other_time = dataclasses.replace(
        sent, headers={**sent.headers, "x-tc-timestamp": str(int(sent.headers["x-tc-timestamp"]) - 1)}
    )
    assert tencent_verify(other_time, {KEY_ID: SECRET}) == "AuthFailure.SignatureFailure"


ALIYUN_ERRORS = [
    (("business", "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"), TemporarySmsError),
    (("business", "isp.SYSTEM_ERROR", "系统错误"), TemporarySmsError),
    (
        (
            "http",
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ),
        TemporarySmsError,
    ),
    (("http", 400, "Throttling.User", "Request was denied due to user flow control."), TemporarySmsError),
    (("business", "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"), PermanentSmsError),
    (("business", "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"), PermanentSmsError),
    (("business", "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名"), PermanentSmsError),
    (("business", "isp.RAM_PERMISSION_DENY", "RAM权限DENY"), PermanentSmsError),
]


@pytest.mark.parametrize(
    ("step", "error"), ALIYUN_ERRORS, ids=lambda value: str(value[1]) if isinstance(value, tuple) else ""
)
def test_aliyun_errors_are_temporary_or_permanent(aliyun, step, error):
    aliyun.script.append(step)
    kind = KINDS["certificate_issued"]
    with pytest.raises(error) as raised:
        AliyunSmsBackend().send_template(mobile=MOBILE, kind=kind, params=_params(kind))
    assert type(raised.value) is error
    assert raised.value.code == step[1 if step[0] == "business" else 2]
    assert SAMPLE_VALUES["number"] not in str(raised.value)


TENCENT_ERRORS = [
    (
        (
            "status",
            "LimitExceeded.PhoneNumberThirtySecondLimit",
            "单个手机号30秒内下发短信条数超过设定的上限",
        ),
        TemporarySmsError,
    ),
    (("error", "RequestLimitExceeded", "请求的次数超过了频率限制。"), TemporarySmsError),
    (("error", "InternalError.Timeout", "请求下发短信超时"), TemporarySmsError),
    (("status", "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"), PermanentSmsError),
    (("error", "FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配"), PermanentSmsError),
    (
        ("status", "LimitExceeded.PhoneNumberCountLimit", "调用接口单次提交的手机号个数超过200个"),
        PermanentSmsError,
    ),
]


@pytest.mark.parametrize(
    ("step", "error"), TENCENT_ERRORS, ids=lambda value: str(value[1]) if isinstance(value, tuple) else ""
)
def test_tencent_errors_are_temporary_or_permanent(tencent, step, error):
    tencent.script.append(step)
    kind = KINDS["certificate_issued"]
    with pytest.raises(error) as raised:
        TencentSmsBackend().send_template(mobile=MOBILE, kind=kind, params=_params(kind))
    assert type(raised.value) is error and raised.value.code == step[1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("backend_class", [AliyunSmsBackend, TencentSmsBackend])
def test_an_unreachable_provider_is_a_temporary_error(settings, backend_class):
    settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET = KEY_ID, SECRET
    settings.SMS_SIGN_NAME, settings.SMS_APP_ID = "市安全生产协会", "1400787878"
    settings.SMS_TEMPLATES = TEMPLATES
    settings.SMS_ENDPOINT = f"http://127.0.0.1:{_closed_port()}"
    settings.SMS_TIMEOUT_SECONDS = 2
    kind = KINDS["certificate_issued"]
    with pytest.raises(TemporarySmsError):
        backend_class().send_template(mobile=MOBILE, kind=kind, params=_params(kind))


def test_a_kind_without_template_code_is_refused_before_sending(aliyun, settings):
    settings.SMS_TEMPLATES = {}
    kind = KINDS["certificate_issued"]
    with pytest.raises(PermanentSmsError, match="SMS_TEMPLATE_CERTIFICATE_ISSUED"):
        AliyunSmsBackend().send_template(mobile=MOBILE, kind=kind, params=_params(kind))
    assert aliyun.raw == []


def test_providers_refuse_free_text(aliyun):
    with pytest.raises(PermanentSmsError) as raised:
        AliyunSmsBackend().send(MOBILE, "任意文字")
    assert raised.value.code == "NoTemplate" and aliyun.raw == []


# ---------------------------------------------------------------------------------------------
# The whole way: notice → record → Celery task (eager) → provider


def _notice(kind_name: str, key: str, email: str = "") -> Notice:
    kind = KINDS[kind_name]
    return Notice(
        mobile=MOBILE,
        email=email,
        subject="证书已核发",
        body="您的证书已核发。",
        kind=kind_name,
        params=_params(kind),
        event_key=key,
    )


@pytest.mark.django_db
def test_notice_is_sent_through_aliyun_and_recorded(aliyun, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert notices_deliver([_notice("certificate_issued", "certificate:1:issued")]) == 0
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempts, message.backend) == (MessageStatus.SENT, 1, "aliyun")
    assert message.template_code == TEMPLATES["certificate_issued"]
    assert message.provider_message_id.startswith("9006197469364984^")
    assert aliyun.accepted[0]["OutId"] == str(message.pk)


@pytest.mark.django_db
def test_throttling_is_retried_until_sent(tencent, django_capture_on_commit_callbacks):
    tencent.script.extend(
        [
            ("error", "RequestLimitExceeded", "频率限制"),
            ("status", "LimitExceeded.PhoneNumberOneHourLimit", "超限"),
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        notices_deliver([_notice("certificate_mailed", "certificate:1:mailed")])
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempts, message.error) == (MessageStatus.SENT, 3, "")
    assert len(tencent.raw) == 3 and len(tencent.accepted) == 3


@pytest.mark.django_db
def test_a_permanent_error_fails_at_once_and_the_email_still_goes(aliyun, django_capture_on_commit_callbacks):
    aliyun.script.append(("business", "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"))
    with django_capture_on_commit_callbacks(execute=True):
        notices_deliver([_notice("certificate_issued", "certificate:2:issued", email="zhang@example.org")])
    sms = OutboundMessage.objects.get(channel="sms")
    assert (sms.status, sms.attempts) == (MessageStatus.FAILED, 1)
    assert sms.error == "Aliyun isv.MOBILE_NUMBER_ILLEGAL: 非法手机号"
    assert OutboundMessage.objects.get(channel="email").status == MessageStatus.SENT
    assert [m.to for m in mail.outbox] == [["zhang@example.org"]]


@pytest.mark.django_db
def test_retries_end_in_failed(aliyun, settings, django_capture_on_commit_callbacks):
    from portal.tasks import message_send

    aliyun.script.extend([("http", 503, "ServiceUnavailable", "暂时不可用")] * (message_send.max_retries + 1))
    with django_capture_on_commit_callbacks(execute=True):
        notices_deliver([_notice("certificate_issued", "certificate:3:issued")])
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, message_send.max_retries + 1)
    assert message.error == "Aliyun 503: ServiceUnavailable"
    assert len(aliyun.raw) == message_send.max_retries + 1
