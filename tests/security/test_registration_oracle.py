"""Issue #22, finding 5: the public sign-up forms are no "is this person registered?" oracle.

The probe of the issue posted the individual form with candidate ID numbers and read 此人已在本培训
项目中报名 for the registered ones (27 probes in 4.5 s). Now the answer to an anonymous visitor is the
same whether or not the ID number (or the mobile number) is registered, the registered person hears
about the attempt on the mobile number on file, nothing is registered twice, and sign-up POSTs are
limited per address. The unit roster too: a registered person's row is accepted like any other (a
flagged duplicate, never approved), so its page, messages and notices say nothing either.
"""

import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from portal.crypto import personal_hash
from portal.models import AuditEntry
from registration.forms import roster_form_data
from registration.models import Application, Trainee
from registration.validators import id_number_mask
from tests.factories import (
    ATTACHMENT1_CONSENTS_POST,
    ApplicationFactory,
    TraineeFactory,
    applicant_data,
    id_number_make,
    mobile_make,
)

pytestmark = pytest.mark.django_db

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def _individual(id_number: str, mobile: str, **overrides) -> dict:
    data = {
        "name": "张三",
        "id_number": id_number,
        "mobile": mobile,
        "email": "probe@example.org",
        "certificate_type": "safety_manager",
        "training_category": "initial",
        "previous_certificate_no": "",
        "unit_name": "",
        "industry": "I",
        "mail_recipient": "",
        "mail_phone": "",
        "mail_address": "广州市海珠区示例路 2 号",
        "invoice_title": "",
        "invoice_tax_id": "",
        "invoice_email": "",
        **ATTACHMENT1_CONSENTS_POST,
    }
    data.update(overrides)
    return data


def _probe(id_number: str, mobile: str, address: str, **overrides):
    """POST the individual form from a fresh browser; return the answer and the page it leads to."""
    browser = Client()
    url = reverse("registration:individual_register")
    response = browser.post(url, _individual(id_number, mobile, **overrides), REMOTE_ADDR=address)
    page = browser.get(response["Location"], REMOTE_ADDR=address) if response.status_code == 302 else None
    return response, page


def _same(first, second) -> None:
    """Same status, same redirect, same page apart from the CSRF token."""
    (answer_a, page_a), (answer_b, page_b) = first, second
    assert answer_a.status_code == answer_b.status_code
    assert answer_a.get("Location") == answer_b.get("Location")
    assert CSRF.sub(b"", answer_a.content) == CSRF.sub(b"", answer_b.content)
    if page_a is not None or page_b is not None:
        assert page_a.status_code == page_b.status_code == 200
        assert CSRF.sub(b"", page_a.content) == CSRF.sub(b"", page_b.content)


@pytest.fixture
def registered(programme):
    """A person registered by a unit, with their own mobile number on file."""
    return TraineeFactory(
        application__programme=programme, id_number=id_number_make(7001), mobile=mobile_make(7001)
    )


def test_the_issue_probe_cannot_tell_a_registered_id_number_from_another(
    programme, registered, sms_outbox, mailoutbox, django_capture_on_commit_callbacks
):
    typed = mobile_make(7100)  # the visitor's phone
    with django_capture_on_commit_callbacks(execute=True):
        probe_registered = _probe(registered.id_number, typed, "10.22.0.1")
    with django_capture_on_commit_callbacks(execute=True):
        probe_free = _probe(id_number_make(7002), mobile_make(7101), "10.22.0.2")

    # The second probe typed another mobile number (one number, one registration): compare the
    # pages with it masked the same way.
    probe_free[1].content = probe_free[1].content.replace(b"137****7101", b"137****7100")
    _same(probe_registered, probe_free)
    assert probe_registered[0].status_code == 302
    assert probe_registered[0]["Location"] == reverse("registration:individual_sent")
    page = probe_registered[1].content.decode()
    assert "此人已在本培训项目中报名" not in page
    assert "137****7100" in page  # where the SMS goes: masked, the number the visitor typed

    # The real duplicate rule holds: the registered person has still one registration, the other
    # person got theirs.
    assert Trainee.objects.filter(id_number_hash=registered.id_number_hash).count() == 1
    assert Trainee.objects.filter(id_number_hash=personal_hash(id_number_make(7002))).count() == 1
    assert Application.objects.filter(kind="individual").count() == 1
    # Only the registered person hears about the second attempt: on the mobile number and the e-mail
    # on file (never the ones typed), with the link to their own registration.
    notices = [s for s in sms_outbox if s.mobile == registered.mobile]
    assert len(notices) == 1 and notices[0].kind == "registration_duplicate"
    link = reverse("registration:attachment2", args=[registered.access_key])
    assert notices[0].message == (
        f"{registered.name}，刚才有人使用您的身份证号码再次提交了{programme.name}的报名。"
        f"您已报名（{registered.application.reference}），因此未重复登记。"
        f"您的报名：http://127.0.0.1:8000{link} 如非您本人操作，无需处理。"
    )
    assert not [s for s in sms_outbox if s.mobile == typed]
    assert [m.to for m in mailoutbox] == [[registered.email]]
    entry = AuditEntry.objects.get(action="registration.duplicate_refused")
    assert entry.target_id == str(registered.pk) and entry.ip_address == "10.22.0.1"
    assert entry.new_value == {"field": "id_number"}


def test_a_registered_mobile_number_is_not_confirmed_either(
    programme, registered, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        taken = _probe(id_number_make(7003), registered.mobile, "10.22.0.3")
    with django_capture_on_commit_callbacks(execute=True):
        free = _probe(id_number_make(7004), mobile_make(7102), "10.22.0.4")
    free[1].content = free[1].content.replace(b"137****7102", b"137****7001")  # registered.mobile
    _same(taken, free)
    assert not Trainee.objects.filter(id_number_hash=personal_hash(id_number_make(7003))).exists()
    assert Trainee.objects.filter(id_number_hash=personal_hash(id_number_make(7004))).count() == 1
    assert Trainee.objects.filter(mobile=registered.mobile).count() == 1
    (notice,) = [s for s in sms_outbox if s.mobile == registered.mobile]
    assert notice.kind == "registration_duplicate_mobile"
    assert notice.message == (
        f"刚才有人使用本手机号码提交了{programme.name}的报名。该号码已被本培训项目的"
        "一项报名使用，因此新的报名未被受理：每位学员须使用本人的手机号码报名。如非您本人操作，无需处理。"
    )


def test_an_invalid_form_answers_the_same_for_a_registered_id_number(programme, registered, sms_outbox):
    """Other mistakes are shown as always, and never together with a hint about registrations."""
    with_registered = _probe(registered.id_number, mobile_make(7103), "10.22.0.5", industry="B")
    with_free = _probe(id_number_make(7005), mobile_make(7103), "10.22.0.6", industry="B")
    assert with_registered[0].status_code == with_free[0].status_code == 200
    errors_registered = with_registered[0].context["form"].errors
    errors_free = with_free[0].context["form"].errors
    assert errors_registered == errors_free and set(errors_registered) == {"industry"}
    body_registered = CSRF.sub(b"", with_registered[0].content).replace(registered.id_number.encode(), b"ID")
    body_free = CSRF.sub(b"", with_free[0].content).replace(id_number_make(7005).encode(), b"ID")
    assert body_registered == body_free
    assert sms_outbox == []


def test_the_genuine_trainee_who_lost_the_link_gets_it_again(
    programme, sms_outbox, django_capture_on_commit_callbacks
):
    """The person registers again with their own details: their SMS brings back their registration."""
    own = TraineeFactory(
        application=ApplicationFactory(programme=programme, kind="individual"),
        id_number=id_number_make(7006),
        mobile=mobile_make(7104),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response, _page = _probe(own.id_number, own.mobile, "10.22.0.7")
    assert response.status_code == 302
    (notice,) = sms_outbox
    assert notice.mobile == own.mobile
    assert reverse("registration:application_detail", args=[own.application.access_key]) in notice.message
    assert Trainee.objects.filter(mobile=own.mobile).count() == 1


def test_notices_to_a_registered_person_are_limited(
    programme, registered, sms_outbox, settings, django_capture_on_commit_callbacks
):
    """Probing the same person again and again does not flood their phone."""
    settings.REGISTRATION_RATE_DUPLICATE_NOTICE = (2, 24 * 3600)
    for n in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            _probe(registered.id_number, mobile_make(7110 + n), f"10.22.1.{n}")
    assert [s.mobile for s in sms_outbox] == [registered.mobile, registered.mobile]
    assert AuditEntry.objects.filter(action="registration.duplicate_refused").count() == 4


def test_sign_up_posts_are_rate_limited_per_address(programme, settings):
    settings.REGISTRATION_RATE_SIGNUP_IP = (3, 600)
    codes = [
        _probe(id_number_make(7200 + n), mobile_make(7200 + n), "10.23.0.1", industry="B")[0].status_code
        for n in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    refused = Client().post(
        reverse("registration:individual_register"),
        _individual(id_number_make(7210), mobile_make(7210)),
        REMOTE_ADDR="10.23.0.1",
    )
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "您所在网络短时间内提交报名的次数过多。本次未保存任何内容：请等待 10 分钟后再提交。" in page
    assert 'value="张三"' in page  # what was typed is still there
    assert not Application.objects.exists()
    # The unit form counts against the same limit; another address is not affected.
    unit = Client().post(
        reverse("registration:unit_register"), {"action": "add_rows"}, REMOTE_ADDR="10.23.0.1"
    )
    assert unit.status_code == 429 and "您所在网络短时间内提交报名的次数过多" in unit.content.decode()
    other = _probe(id_number_make(7211), mobile_make(7211), "10.23.0.2")[0]
    assert other.status_code == 302


def _unit_post(rows) -> dict:
    data = {name: value for name, value in applicant_data().items() if name != "kind"}
    data.update(roster_form_data(rows))
    data.update(ATTACHMENT1_CONSENTS_POST)
    data["action"] = "submit"
    return data


def _row(n: int, **overrides) -> dict:
    return {
        "name": f"学员{n}",
        "id_number": id_number_make(n),
        "mobile": mobile_make(n),
        "email": "",
        "certificate_type": "principal",
        "training_category": "initial",
        "previous_certificate_no": "",
        **overrides,
    }


def _unit_submit(rows, address: str):
    """POST the unit form from a fresh browser and follow to the application page."""
    browser = Client()
    response = browser.post(reverse("registration:unit_register"), _unit_post(rows), REMOTE_ADDR=address)
    page = browser.get(response["Location"], REMOTE_ADDR=address) if response.status_code == 302 else None
    return response, page


def _neutral(text: str, application: Application) -> str:
    """``text`` with what differs between two applications by nature (number, keys, row ids, typed
    ID and mobile numbers, the minute of submission) replaced by placeholders."""
    text = CSRF.sub(b"", text.encode()).decode()
    text = text.replace(application.reference, "REF").replace(application.access_key, "KEY")
    for trainee in application.trainees.all():
        text = text.replace(trainee.access_key, "TKEY").replace(trainee.id_number_masked, "ID")
        text = text.replace(trainee.mobile, "MOBILE")
        text = re.sub(rf"(trainee-|/){trainee.pk}\b", r"\1PK", text)
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "WHEN", text)


def test_a_unit_roster_cannot_tell_a_registered_person_from_a_fresh_one(
    programme, registered, sms_outbox, mailoutbox, django_capture_on_commit_callbacks
):
    """The unit form's answer, its application page and the messages to the unit are the same
    whether a row names a registered person or not; the registered person hears about it."""
    with django_capture_on_commit_callbacks(execute=True):
        probe = _unit_submit([_row(7300), _row(7001, mobile=mobile_make(7301))], "10.24.0.1")
    probe_sms, probe_mail = list(sms_outbox), list(mailoutbox)
    sms_outbox.clear()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # same gender and row name, fresh person
        fresh = _unit_submit([_row(7304, name="学员7300"), _row(7003, name="学员7001")], "10.24.0.2")
    fresh_sms, fresh_mail = list(sms_outbox), list(mailoutbox)

    probed, free = (Application.objects.get(submitted_ip=ip) for ip in ("10.24.0.1", "10.24.0.2"))
    assert probe[0].status_code == fresh[0].status_code == 302
    assert probe[0]["Location"] == reverse("registration:application_detail", args=[probed.access_key])
    assert probe[1].status_code == fresh[1].status_code == 200
    probe_page, fresh_page = probe[1].content.decode(), fresh[1].content.decode()
    assert "已在本培训项目中报名" not in probe_page
    assert [str(m) for m in probe[1].context["messages"]] == [
        f"报名 {probed.reference} 已提交。请保存本页链接：可在此查看审核状态和应缴费用。链接也已发送给联系人。"
    ]
    assert _neutral(probe_page, probed) == _neutral(fresh_page, free)
    assert [t.status for t in probed.trainees.order_by("row_number")] == ["submitted", "submitted"]

    # The unit hears the same (contact and trainees alike); the registered person hears about it.
    holder = [s for s in probe_sms if s.mobile == registered.mobile]
    assert len(holder) == 1 and registered.application.reference in holder[0].message
    unit_sms = [
        (_neutral(s.mobile, probed), _neutral(s.message, probed)) for s in probe_sms if s not in holder
    ]
    assert unit_sms == [(_neutral(s.mobile, free), _neutral(s.message, free)) for s in fresh_sms]
    assert len(unit_sms) == 3  # the contact and the two trainees
    assert [_neutral(m.body, probed) for m in probe_mail if m.to != [registered.email]] == [
        _neutral(m.body, free) for m in fresh_mail
    ]
    assert [m.to for m in probe_mail if m.to == [registered.email]] == [[registered.email]]

    # Behind the scenes: the row is a flagged duplicate, the attempt audited against the holder.
    duplicate = probed.trainees.get(row_number=2)
    assert (duplicate.is_duplicate, duplicate.duplicate_of, duplicate.duplicate_field) == (
        True,
        registered,
        "id_number",
    )
    entry = AuditEntry.objects.get(action="registration.duplicate_refused")
    assert entry.target_id == str(registered.pk) and entry.ip_address == "10.24.0.1"
    assert entry.new_value == {"field": "id_number", "duplicate_id": duplicate.pk}
    assert not free.trainees.filter(is_duplicate=True).exists()


def test_the_unit_holder_notice_is_the_individual_forms_notice(
    programme, registered, sms_outbox, django_capture_on_commit_callbacks
):
    """The registered person is told through the same notice whichever form was used."""
    with django_capture_on_commit_callbacks(execute=True):
        _unit_submit([_row(7001, mobile=mobile_make(7310))], "10.24.1.1")
    with django_capture_on_commit_callbacks(execute=True):
        _probe(registered.id_number, mobile_make(7311), "10.24.1.2")
    notices = [s.message for s in sms_outbox if s.mobile == registered.mobile]
    assert len(notices) == 2 and notices[0] == notices[1]


def test_a_unit_roster_with_a_registered_mobile_says_nothing_either(
    programme, registered, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response, page = _unit_submit([_row(7320, mobile=registered.mobile)], "10.24.2.1")
    assert response.status_code == 302 and page.status_code == 200
    html = page.content.decode()
    assert "已在本培训项目中" not in html and "已被他人" not in html
    row = Application.objects.get(submitted_ip="10.24.2.1").trainees.get()
    assert (row.is_duplicate, row.duplicate_of, row.duplicate_field) == (True, registered, "mobile")
    assert len([s for s in sms_outbox if s.mobile == registered.mobile]) >= 1


def test_many_registered_people_in_one_roster_are_all_answered_alike(programme, settings):
    """No daily limit on "registered" answers is left to hit: there are none. A long roster of
    registered people is accepted like any other (and only the per-address POST limit applies)."""
    others = [TraineeFactory(application__programme=programme) for _ in range(12)]
    bulk = [_row(7330 + n, id_number=t.id_number) for n, t in enumerate(others)]
    response, page = _unit_submit(bulk, "10.24.3.1")
    assert response.status_code == 302
    assert "已在本培训项目中报名" not in page.content.decode()
    application = Application.objects.get(submitted_ip="10.24.3.1")
    assert application.trainees.filter(is_duplicate=True).count() == 12


def test_the_same_person_twice_in_one_roster_is_still_shown(programme):
    """Within one roster the duplicate is the submitter's own mistake: it is shown as before."""
    response, _page = _unit_submit([_row(7340), _row(7341, id_number=id_number_make(7340))], "10.24.4.1")
    assert response.status_code == 200
    masked = id_number_mask(id_number_make(7340))
    assert response.context["formset"].forms[0].errors["id_number"] == [
        f"同一人（身份证号码 {masked}）也出现在第 2 行。"
    ]
    assert not Application.objects.filter(submitted_ip="10.24.4.1").exists()


def _workbook(rows) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "姓名", "身份证号码", "手机号码", "证书类型", "培训类别", "原证书编号"])
    for number, (name, id_number, mobile) in enumerate(rows, start=1):
        sheet.append([number, name, id_number, mobile, "主要负责人", "初始培训"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "roster.xlsx"
    return out


def _import(rows, address: str):
    data = _unit_post([])
    data.update(action="import", workbook=_workbook(rows))
    return Client().post(reverse("registration:unit_register"), data, REMOTE_ADDR=address)


def test_a_roster_workbook_says_nothing_about_registrations_but_names_its_own_duplicates(
    programme, registered
):
    with_registered = _import([("学员7001", registered.id_number, mobile_make(7350))], "10.24.5.1")
    with_fresh = _import([("学员7001", id_number_make(7003), mobile_make(7350))], "10.24.5.2")
    assert with_registered.status_code == with_fresh.status_code == 200
    assert with_registered.context["import_report"] == with_fresh.context["import_report"]
    assert with_registered.context["import_report"]["errors"] == []
    body = CSRF.sub(b"", with_registered.content).replace(registered.id_number.encode(), b"ID")
    assert body == CSRF.sub(b"", with_fresh.content).replace(id_number_make(7003).encode(), b"ID")

    twice = _import(
        [("甲", id_number_make(7351), mobile_make(7351)), ("乙", id_number_make(7351), mobile_make(7352))],
        "10.24.5.3",
    )
    masked = id_number_mask(id_number_make(7351))
    assert twice.context["import_report"]["errors"] == [
        f"第 2 行：身份证号码：同一人（身份证号码 {masked}）也出现在第 3 行。",
        f"第 3 行：身份证号码：同一人（身份证号码 {masked}）也出现在第 2 行。",
    ]
    assert not Application.objects.exclude(pk=registered.application_id).exists()
