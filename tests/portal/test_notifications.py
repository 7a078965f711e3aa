from django.core import mail

from portal.notifications import email_send, sms_send


def test_sms_goes_through_the_configured_backend(sms_outbox):
    sms_send(mobile="13812345678", message="您的学习账号已开通")
    assert [(m.mobile, m.message) for m in sms_outbox] == [("13812345678", "您的学习账号已开通")]


def test_email_with_attachment_and_no_empty_recipients():
    email_send(
        to=["a@example.org", ""],
        subject="发票",
        body="见附件",
        attachments=[("f.pdf", b"%PDF", "application/pdf")],
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["a@example.org"]
    assert mail.outbox[0].attachments[0][0] == "f.pdf"


def test_email_without_recipient_sends_nothing():
    email_send(to=[""], subject="x", body="y")
    assert mail.outbox == []
