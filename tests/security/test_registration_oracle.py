"""Issue #22, finding 5: the public sign-up forms are no "is this person registered?" oracle.

The probe of the issue posted the individual form with candidate ID numbers and read 此人已在本培训
项目中报名 for the registered ones (27 probes in 4.5 s). Now the answer to an anonymous visitor is the
same whether or not the ID number (or the mobile number) is registered, the registered person hears
about the attempt on the mobile number on file, nothing is registered twice, and sign-up POSTs are
limited per address.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from portal.crypto import personal_hash
from portal.models import AuditEntry
from registration.forms import roster_form_data
from registration.models import Application, Trainee
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
    assert len(notices) == 1
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
    assert notice.message == (
        f"刚才有人使用本手机号码（{registered.mobile}）提交了{programme.name}的报名。该号码已被本培训项目的"
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


def test_unit_rosters_name_registered_trainees_only_a_few_times_per_address(programme, registered, settings):
    """A unit sees its application at once, so its roster still says which row is registered, but
    an address gets that answer only a few times a day: no bulk look-up with long rosters."""
    settings.REGISTRATION_RATE_CONFLICTS_IP = (3, 24 * 3600)
    others = [TraineeFactory(application__programme=programme) for _ in range(3)]
    applications = Application.objects.count()
    url = reverse("registration:unit_register")
    first = Client().post(
        url, _unit_post([_row(7300), _row(7001, mobile=mobile_make(7301))]), REMOTE_ADDR="10.24.0.1"
    )
    assert first.status_code == 200
    assert first.context["formset"].forms[1].errors["id_number"] == [
        "此人已在本培训项目中报名，每人只能报名一次。"
    ]
    bulk = [_row(7310 + n, id_number=t.id_number) for n, t in enumerate(others)]
    second = Client().post(url, _unit_post(bulk), REMOTE_ADDR="10.24.0.1")
    assert second.status_code == 429
    html = second.content.decode()
    assert "此名单中已在本培训项目报名的学员次数过多" in html
    assert "此人已在本培训项目中报名" not in html  # no row named
    assert html.count('value="' + others[0].id_number + '"') == 1  # what was typed is kept
    assert Application.objects.count() == applications  # nothing saved
