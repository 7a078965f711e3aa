"""Every message accounted for: notices recorded, sent once by the task, retried, resent by staff,
shown (masked) in admin, on the dashboard and on the trainee's own page; codes never shown."""

import logging
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from portal.messaging import checks
from portal.messaging.backends import LocmemSmsBackend, PermanentSmsError, TemporarySmsError
from portal.messaging.kinds import KINDS, link_param, sms_kinds
from portal.messaging.selectors import messages_unreachable, undelivered_q
from portal.messaging.services import (
    PURGE_ACTION,
    RESEND_ACTION,
    message_resend,
    message_send,
    messages_purge,
    messages_requeue_stale,
    retry_countdown,
)
from portal.models import AuditEntry, MessageStatus, OutboundMessage
from portal.notifications import Notice, notices_deliver
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

MOBILE = "13712345678"
CODE = "608213"


def _code_notice(key="user:1:code:1", email="", mobile=MOBILE) -> Notice:
    return Notice(
        mobile=mobile,
        email=email,
        subject="设置学习账号密码",
        body=f"您的验证码是 {CODE}，也可打开 https://example.org/learning/activate/secret-token/ 设置密码。",
        kind="password_code",
        params={"code": CODE},
        event_key=key,
    )


def _deliver(notices, capture):
    with capture(execute=True):
        return notices_deliver(notices)


class FailingBackend(LocmemSmsBackend):
    """Refuses every SMS, echoing the variables in its error as some gateways do."""

    error = PermanentSmsError

    def send_template(self, *, mobile, kind, params, reference=""):
        raise self.error(f"refused {params}", code="isv.TEST")


class ThrottledBackend(FailingBackend):
    error = TemporarySmsError


def test_a_notice_is_recorded_and_sent_with_the_template_text(sms_outbox, django_capture_on_commit_callbacks):
    assert _deliver([_code_notice(email="li@example.org")], django_capture_on_commit_callbacks) == 0
    assert [(m.mobile, m.kind, m.params, m.message) for m in sms_outbox] == [
        (
            MOBILE,
            "password_code",
            {"code": CODE},
            f"您正在设置学习账号密码，验证码{CODE}，请勿告诉他人。如非本人操作，请忽略本短信。",
        )
    ]
    assert [(m.to, m.subject) for m in mail.outbox] == [(["li@example.org"], "设置学习账号密码")]
    sms, email = OutboundMessage.objects.order_by("channel").reverse()
    assert (sms.channel, sms.kind, sms.status, sms.attempts, sms.backend) == (
        "sms",
        "password_code",
        "sent",
        1,
        "locmem",
    )
    assert sms.provider_message_id.startswith("locmem-") and sms.sent_at is not None
    assert (email.channel, email.status, email.notice) == ("email", "sent", sms.notice)


def test_an_email_only_kind_sends_no_sms(sms_outbox, django_capture_on_commit_callbacks):
    notice = Notice(
        mobile=MOBILE,
        email="finance@example.org",
        subject="待开发票",
        body="2027-01-05  某单位  450.00",
        kind="invoice_deadlines_digest",
        event_key="digest:2027-01-04",
    )
    _deliver([notice], django_capture_on_commit_callbacks)
    assert sms_outbox == []
    assert list(OutboundMessage.objects.values_list("channel", "status")) == [("email", "sent")]
    assert mail.outbox[0].body == "2027-01-05  某单位  450.00"


def test_codes_and_links_are_stored_encrypted(django_capture_on_commit_callbacks):
    _deliver([_code_notice(email="li@example.org")], django_capture_on_commit_callbacks)
    with connection.cursor() as cursor:
        cursor.execute("SELECT params_json, body FROM portal_outboundmessage")
        stored = " ".join(value for row in cursor.fetchall() for value in row)
    assert CODE not in stored and "secret-token" not in stored
    email = OutboundMessage.objects.get(channel="email")
    assert email.params == {"code": CODE} and "secret-token" in email.body


def test_the_same_event_is_never_sent_twice(sms_outbox, django_capture_on_commit_callbacks):
    _deliver([_code_notice()], django_capture_on_commit_callbacks)
    _deliver([_code_notice(), _code_notice()], django_capture_on_commit_callbacks)
    assert len(sms_outbox) == 1
    assert OutboundMessage.objects.count() == 1


def test_nothing_is_sent_when_the_callers_transaction_rolls_back(
    sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        notices_deliver([_code_notice()])
        raise RuntimeError
    assert sms_outbox == [] and not OutboundMessage.objects.exists()


def test_an_sms_notice_without_kind_is_refused_at_once():
    """The providers send no free text: an SMS notice names its message kind."""
    with pytest.raises(ValueError, match="names its message kind"):
        Notice(mobile=MOBILE, email="li@example.org", subject="通知", body="正文")


def test_an_email_notice_without_kind_is_sent_as_written(sms_outbox, django_capture_on_commit_callbacks):
    notice = Notice(mobile="", email="li@example.org", subject="通知", body="正文", event_key="adhoc:1")
    _deliver([notice], django_capture_on_commit_callbacks)
    assert sms_outbox == [] and [(m.to, m.subject, m.body) for m in mail.outbox] == [
        (["li@example.org"], "通知", "正文")
    ]
    assert list(OutboundMessage.objects.values_list("channel", "kind", "status")) == [("email", "", "sent")]


def test_a_wrong_kind_or_variable_is_refused_at_once():
    with pytest.raises(ImproperlyConfigured):
        Notice(mobile=MOBILE, email="", subject="", body="", kind="no_such_kind")
    with pytest.raises(ValueError, match="missing \\['code'\\]"):
        Notice(mobile=MOBILE, email="", subject="", body="", kind="password_code", params={"pin": "1"})


def test_a_number_that_is_no_mobile_fails_at_once_and_is_unreachable(
    sms_outbox, django_capture_on_commit_callbacks
):
    assert _deliver([_code_notice(mobile="0201234567")], django_capture_on_commit_callbacks) == 1
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempts, message.error) == ("failed", 0, "Not a mainland mobile number.")
    assert list(messages_unreachable()) == [message] and sms_outbox == []


def test_an_email_on_its_way_makes_a_failed_sms_reachable(settings, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "tests.portal.test_messaging.FailingBackend"
    _deliver(
        [_code_notice(key="a", email="li@example.org"), _code_notice(key="b")],
        django_capture_on_commit_callbacks,
    )
    assert [m.notice for m in messages_unreachable()] == ["b"]


def test_the_provider_error_is_stored_without_the_variables(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "tests.portal.test_messaging.FailingBackend"
    with caplog.at_level(logging.DEBUG):
        _deliver([_code_notice()], django_capture_on_commit_callbacks)
    message = OutboundMessage.objects.get()
    assert (message.status, message.error) == ("failed", "refused {'code': '[…]'}")
    assert CODE not in caplog.text and "138****" not in caplog.text and "137****5678" in caplog.text


def test_temporary_errors_are_retried_then_failed(settings, django_capture_on_commit_callbacks):
    from portal.tasks import message_send as task

    settings.SMS_BACKEND = "tests.portal.test_messaging.ThrottledBackend"
    _deliver([_code_notice()], django_capture_on_commit_callbacks)
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempts) == ("failed", task.max_retries + 1)


def test_a_sent_or_claimed_message_is_not_sent_again(sms_outbox, django_capture_on_commit_callbacks):
    _deliver([_code_notice()], django_capture_on_commit_callbacks)
    message = OutboundMessage.objects.get()
    assert message_send(message_id=message.pk) is None  # sent already
    OutboundMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING)
    assert message_send(message_id=message.pk) is None  # another worker has it
    assert len(sms_outbox) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sending", 1)


def test_email_errors(settings, django_capture_on_commit_callbacks, monkeypatch):
    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"li@example.org": (550, b"no such user")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    _deliver([_code_notice(key="x", email="li@example.org")], django_capture_on_commit_callbacks)
    email = OutboundMessage.objects.get(channel="email")
    assert (email.status, email.attempts, email.error) == ("failed", 1, "Mail server refused the recipient.")


def test_retry_countdown_grows_exponentially_with_jitter(settings):
    settings.MESSAGE_RETRY_BACKOFF_SECONDS, settings.MESSAGE_RETRY_BACKOFF_MAX_SECONDS = 30, 900
    for retries, base in [(0, 30), (1, 60), (3, 240), (5, 900), (9, 900)]:
        for _ in range(20):
            assert base // 2 <= retry_countdown(retries) <= base


def test_lost_tasks_are_queued_again(sms_outbox):
    now = timezone.now()
    old = OutboundMessage.objects.create(
        event="e:1:sms",
        notice="e:1",
        kind="password_code",
        channel="sms",
        recipient=MOBILE,
        params_json='{"code": "111111"}',
        next_attempt_at=now - timedelta(minutes=30),
    )
    fresh = OutboundMessage.objects.create(
        event="e:2:sms",
        notice="e:2",
        kind="password_code",
        channel="sms",
        recipient=MOBILE,
        params_json='{"code": "222222"}',
        next_attempt_at=now - timedelta(minutes=1),
    )
    assert messages_requeue_stale(now=now) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == ("sent", "queued")
    assert [m.params for m in sms_outbox] == [{"code": "111111"}]


def test_old_messages_are_purged_and_the_purge_audited():
    now = timezone.now()
    for index, days in enumerate([200, 10]):
        OutboundMessage.objects.create(
            event=f"p:{index}",
            notice=f"p:{index}",
            channel="sms",
            recipient=MOBILE,
            created_at=now - timedelta(days=days),
            status="sent",
        )
    assert messages_purge(now=now) == 1
    assert list(OutboundMessage.objects.values_list("event", flat=True)) == ["p:1"]
    assert AuditEntry.objects.get(action=PURGE_ACTION).new_value["count"] == 1
    assert messages_purge(now=now) == 0


# ---------------------------------------------------------------------------------------------
# Staff: admin, resend, dashboard; the trainee's own page


def _failed(key="f:1", **fields) -> OutboundMessage:
    values = {
        "event": f"{key}:sms",
        "notice": key,
        "kind": "password_code",
        "channel": "sms",
        "recipient": MOBILE,
        "params_json": f'{{"code": "{CODE}"}}',
        "status": "failed",
        "attempts": 7,
        "error": "Aliyun isv.BUSINESS_LIMIT_CONTROL: 触发流控",
        **fields,
    }
    return OutboundMessage.objects.create(**values)


def test_staff_resend_a_failed_message(sms_outbox, django_capture_on_commit_callbacks):
    message = _failed()
    reviewer = StaffFactory(role="reviewer")
    with django_capture_on_commit_callbacks(execute=True):
        message_resend(message=message, actor=reviewer, ip="10.0.0.8")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("sent", 8, "")
    assert [m.params for m in sms_outbox] == [{"code": CODE}]
    entry = AuditEntry.objects.get(action=RESEND_ACTION)
    assert (entry.actor, entry.target_id, entry.ip_address) == (reviewer, str(message.pk), "10.0.0.8")
    assert entry.old_value == {
        "status": "failed",
        "attempts": 7,
        "error": "Aliyun isv.BUSINESS_LIMIT_CONTROL: 触发流控",
    }


def test_only_undelivered_messages_are_resent_and_only_by_permitted_staff():
    sent = _failed(key="s:1", status="sent", error="")
    with pytest.raises(ValidationError) as refused:
        message_resend(message=sent, actor=StaffFactory(role="finance"))
    assert refused.value.messages == ["只有发送失败或等待超过15分钟的消息可以重新发送。"]
    with pytest.raises(PermissionDenied):
        message_resend(message=_failed(key="f:2"), actor=StaffFactory(role="course_admin"))
    waiting = _failed(key="q:1", status="queued", next_attempt_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(ValidationError):
        message_resend(message=waiting, actor=StaffFactory(role="reviewer"))


def test_undelivered_means_failed_or_waiting_too_long():
    now = timezone.now()
    failed = _failed(key="u:1")
    stale = _failed(key="u:2", status="queued", next_attempt_at=now - timedelta(minutes=20))
    _failed(key="u:3", status="queued", next_attempt_at=now - timedelta(minutes=2))
    stuck = _failed(key="u:4", status="sending", last_attempt_at=now - timedelta(minutes=40))
    _failed(key="u:5", status="sent")
    assert set(OutboundMessage.objects.filter(undelivered_q(now=now))) == {failed, stale, stuck}


def test_admin_list_masks_recipients_and_never_shows_codes(client):
    message = _failed(kind="password_code", subject="")
    client.force_login(StaffFactory(role="reviewer"))
    _failed(key="other", kind="certificate_issued", recipient="13900000000")
    listing = client.get(
        reverse("admin:portal_outboundmessage_changelist"),
        {"delivery": "undelivered", "kind": "password_code"},
    )
    page = listing.content.decode()
    assert listing.status_code == 200
    assert "137****5678" in page and MOBILE not in page and "139****0000" not in page
    assert '<td class="field-kind_display">密码验证码</td>' in page and "发送失败" in page
    detail = client.get(reverse("admin:portal_outboundmessage_change", args=[message.pk])).content.decode()
    assert CODE not in detail and CODE not in page
    assert "isv.BUSINESS_LIMIT_CONTROL" in detail


def test_admin_resend_action(client, sms_outbox, django_capture_on_commit_callbacks):
    failed, sent = _failed(key="a:1"), _failed(key="a:2", status="sent", error="")
    client.force_login(StaffFactory(role="finance"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:portal_outboundmessage_changelist"),
            {"action": "resend_selected", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )
    texts = [str(m) for m in response.context["messages"]]
    assert texts == [
        f"已重新排队（1）：#{failed.pk} 137****5678",
        f"#{sent.pk} 137****5678：未处理：只有发送失败或等待超过15分钟的消息可以重新发送。",
    ]
    failed.refresh_from_db()
    assert failed.status == "sent" and len(sms_outbox) == 1


def test_dashboard_lists_who_cannot_be_reached(client):
    message = _failed(about_repr="王五 (2026A0042)")
    _failed(key="reached", status="failed")
    OutboundMessage.objects.create(
        event="reached:email", notice="reached", channel="email", recipient="w@example.org", status="sent"
    )
    url = reverse("admin:learning_pipelinedashboard_changelist")
    client.force_login(StaffFactory(role="reviewer"))
    page = client.get(url).content.decode()
    assert "无法联系：短信发送失败且没有电子邮件" in page
    assert page.count('class="message-unreachable"') == 1 and "王五 (2026A0042)" in page
    assert reverse("admin:portal_outboundmessage_change", args=[message.pk]) in page
    client.force_login(StaffFactory(role="course_admin"))
    assert "无法联系" not in client.get(url).content.decode()


def test_trainee_page_says_where_the_messages_went(client):
    user = UserFactory(mobile=MOBILE, email="li@example.org")
    _failed(key="t:1", kind="registration_returned")
    OutboundMessage.objects.create(
        event="t:2:email",
        notice="t:2",
        kind="account_opened",
        channel="email",
        recipient="li@example.org",
        status="sent",
    )
    OutboundMessage.objects.create(
        event="t:3:sms", notice="t:3", channel="sms", recipient="13900000000", status="sent"
    )
    client.force_login(user)
    page = client.get(reverse("learning:centre")).content.decode()
    assert "发给您的消息" in page
    assert page.count('class="message-failed"') == 1 and page.count('class="message-sent"') == 1
    assert "报名被退回（致学员）" in page and "学习账号已开通（设置密码）" in page
    assert "137****5678" in page and "l***@example.org" in page and "139****0000" not in page
    assert "未送达" in page


# ---------------------------------------------------------------------------------------------
# The registry and the configuration checks


def test_every_sms_kind_is_a_valid_provider_template():
    for kind in sms_kinds():
        assert kind.variables, kind.name
        assert len(set(kind.variables)) == len(kind.variables), kind.name  # each variable once
        assert all(name not in {"email", "mobile", "id", "nick", "site"} for name in kind.variables)
        assert "【" not in kind.sms and "】" not in kind.sms
        assert not kind.code_template or kind.variables == ("code",)
    assert {
        "attachment2_link",
        "registration_duplicate",
        "registration_duplicate_mobile",
        "account_opened",
        "password_code",
        "certificate_mailed",
    } <= set(KINDS)


def test_link_variables_carry_the_path_only(settings):
    settings.PORTAL_SITE_URL = "https://training.example.org/"
    assert link_param("https://training.example.org/registration/a2/abc/") == "registration/a2/abc/"
    with pytest.raises(ValueError):
        link_param("https://evil.example.org/registration/a2/abc/")
    assert (
        KINDS["attachment2_link"].render(
            {"name": "张三", "programme": "培训", "reference": "R1", "link": "registration/a2/abc/"}
        )
        == "张三，您已报名培训（R1），请打开https://training.example.org/registration/a2/abc/ 填写信息采集表并上传照片和身份证。"
    )


def test_configuration_checks(settings):
    settings.SMS_BACKEND = "portal.notifications.ConsoleSmsBackend"
    assert [e.id for e in checks.check_sms_backend_sends()] == ["portal.W201"]
    assert checks.check_sms_provider_configured() == []
    settings.SMS_BACKEND = "portal.messaging.tencent.TencentSmsBackend"
    settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET, settings.SMS_SIGN_NAME = (
        "id",
        "secret",
        "协会",
    )
    settings.SMS_APP_ID = ""
    settings.SMS_TEMPLATES = {kind.name: "1" for kind in sms_kinds() if kind.name != "certificate_mailed"}
    found = checks.check_sms_provider_configured()
    assert [(e.id, e.msg) for e in found] == [
        ("portal.E202", "SMS_APP_ID is not set for TencentSmsBackend."),
        ("portal.W203", "No SMS template code for: certificate_mailed."),
    ]
    assert checks.check_sms_backend_sends() == []


def test_configuration_check_lists_the_duplicate_attempt_kinds_without_code(settings):
    settings.SMS_BACKEND = "portal.messaging.aliyun.AliyunSmsBackend"
    settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET, settings.SMS_SIGN_NAME = (
        "id",
        "secret",
        "协会",
    )
    settings.SMS_TEMPLATES = {kind.name: "SMS_1" for kind in sms_kinds() if "duplicate" not in kind.name}
    assert [(e.id, e.msg) for e in checks.check_sms_provider_configured()] == [
        ("portal.W203", "No SMS template code for: registration_duplicate, registration_duplicate_mobile.")
    ]


def test_sms_templates_command_prints_what_to_register(settings):
    from io import StringIO

    from django.core.management import call_command

    settings.PORTAL_SITE_URL = "https://training.example.org"
    settings.SMS_TEMPLATES = {"certificate_mailed": "2100020"}
    out = StringIO()
    call_command("sms_templates", "--provider", "tencent", stdout=out)
    lines = dict(line.split("\t", 1) for line in out.getvalue().splitlines())
    assert set(lines) == {kind.name for kind in sms_kinds()}
    assert lines["certificate_mailed"] == (
        "短信通知\t您的培训证书{1}已由{2}寄出，运单号{3}（到付）。\t{1}=number, {2}=courier, {3}=tracking\t2100020"
    )
    assert (
        lines["attachment2_link"]
        .split("\t")[1]
        .startswith("{1}，您已报名{2}（{3}），请打开https://training.example.org/{4} ")
    )
    assert lines["password_code"].startswith("验证码\t") and lines["password_code"].endswith(
        "(SMS_TEMPLATES not set)"
    )
    assert lines["registration_duplicate"] == (
        "短信通知\t{1}，刚才有人使用您的身份证号码再次提交了{2}的报名。您已报名（{3}），因此未重复登记。"
        "您的报名：https://training.example.org/{4} 如非您本人操作，无需处理。\t"
        "{1}=name, {2}=programme, {3}=reference, {4}=link\t(SMS_TEMPLATES not set)"
    )
    assert lines["registration_duplicate_mobile"].startswith(
        "短信通知\t刚才有人使用本手机号码提交了{1}的报名。"
    )
