"""Unit accounts (issue #21 point 1, issue #19 point 6): claim, log-in by code, link recovery
without an oracle, contacts, merge, and the unit's home page across programmes."""

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from portal.models import AuditEntry
from registration.models import ApplicantKind, Application, Trainee, Unit, UnitAccessCode, UnitContact
from registration.services import units
from registration.services.applications import application_submit
from registration.units.access import SESSION_CONTACT
from tests.factories import (
    ATTACHMENT1_CONSENTS_POST,
    ApplicationFactory,
    ApprovedTraineeFactory,
    PaidTraineeFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
    UnitContactFactory,
    UnitFactory,
    applicant_data,
    id_number_make,
    roster_rows,
    uscc_make,
)

pytestmark = pytest.mark.django_db

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
HOME = reverse("registration:unit_home")
LOGIN = reverse("registration:unit_login")
LOGIN_CODE = reverse("registration:unit_login_confirm")
RECOVER = reverse("registration:unit_recover")
RECOVER_CODE = reverse("registration:unit_recover_confirm")
CONTACTS = reverse("registration:unit_contacts")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the on-commit work (the SMS) of whatever happens inside."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def _codes(sms_outbox, mobile: str) -> list[str]:
    return [m.params["code"] for m in sms_outbox if m.mobile == mobile and m.kind == "unit_login_code"]


def _unit_application(unit: Unit, **kwargs) -> Application:
    return ApplicationFactory(unit=unit, invoice_tax_id=unit.credit_code, unit_name=unit.name, **kwargs)


def _logged_in(client, contact: UnitContact) -> None:
    session = client.session
    session[SESSION_CONTACT] = contact.pk
    session.save()


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Units by credit code -------------------------------------------------------------------------


def test_submitted_unit_applications_join_their_unit_by_credit_code_and_individuals_none(on_commit):
    programme = ProgrammeFactory()
    code = uscc_make(4242)
    with on_commit():
        first = application_submit(
            programme=programme,
            applicant=applicant_data(invoice_tax_id=code),
            roster=roster_rows(1),
            consents=["id_number"],
        )
        second = application_submit(
            programme=programme,
            applicant=applicant_data(invoice_tax_id=code.lower(), unit_name="改名后的公司"),
            roster=roster_rows(1, start=5),
            consents=["id_number"],
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.unit_id == second.unit_id is not None
    assert Unit.objects.get().credit_code == code


def test_the_data_migration_creates_one_unit_per_credit_code_named_after_the_latest_application():
    code = uscc_make(777)
    old = ApplicationFactory(invoice_tax_id=code, unit_name="旧名称")
    new = ApplicationFactory(
        invoice_tax_id=code, unit_name="新名称", submitted_at=old.submitted_at.replace(year=2030)
    )
    other = ApplicationFactory()
    individual = ApplicationFactory(kind=ApplicantKind.INDIVIDUAL, invoice_tax_id="")
    migration = importlib.import_module("registration.migrations.0010_unit_accounts")
    migration.units_create(django_apps, None)
    unit = Unit.objects.get(credit_code=code)
    assert unit.name == "新名称"
    assert set(unit.applications.values_list("pk", flat=True)) == {old.pk, new.pk}
    other.refresh_from_db()
    individual.refresh_from_db()
    assert other.unit.credit_code == other.invoice_tax_id and individual.unit is None
    assert Unit.objects.count() == 2


# --- Claim ------------------------------------------------------------------------------------------


def test_claim_sends_a_code_to_the_contact_phone_and_links_the_application(client, on_commit, sms_outbox):
    application = ApplicationFactory(contact_phone="13700007777", contact_name="赵联系")
    claim_url = reverse("registration:unit_claim", args=[application.access_key])
    page = client.get(reverse("registration:application_detail", args=[application.access_key]))
    assert claim_url.encode() in page.content
    with on_commit():
        response = client.post(claim_url, {"action": "send"})
    assert response.status_code == 302 and response["Location"] == claim_url
    assert "验证码已通过短信发送至联系电话137****7777。" in _messages(response)
    (code,) = _codes(sms_outbox, "13700007777")
    assert (
        sms_outbox[-1].message
        == f"您正在登录单位报名账户，验证码{code}，10分钟内有效，请勿告诉他人。如非本人操作，请忽略本短信。"
    )

    wrong = client.post(claim_url, {"action": "confirm", "code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 200 and "验证码错误或已过期，请重新获取验证码。" in wrong.content.decode()
    assert not UnitContact.objects.exists()

    response = client.post(claim_url, {"action": "confirm", "code": code})
    assert response.status_code == 302 and response["Location"] == HOME
    contact = UnitContact.objects.get()
    application.refresh_from_db()
    assert (contact.mobile, contact.name, contact.unit_id) == ("13700007777", "赵联系", application.unit_id)
    assert application.unit.credit_code == application.invoice_tax_id
    assert client.session[SESSION_CONTACT] == contact.pk
    assert AuditEntry.objects.filter(
        action="unit.application_claimed", target_id=str(application.pk)
    ).exists()
    assert AuditEntry.objects.filter(action="unit.contact_added", target_id=str(contact.unit_id)).exists()
    # The code is used up.
    again = client.post(claim_url, {"action": "confirm", "code": code})
    assert again.status_code == 200


def test_an_individual_application_cannot_be_claimed(client):
    application = ApplicationFactory(kind=ApplicantKind.INDIVIDUAL, invoice_tax_id="")
    url = reverse("registration:unit_claim", args=[application.access_key])
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "send"}).status_code == 404
    page = client.get(reverse("registration:application_detail", args=[application.access_key]))
    assert url.encode() not in page.content


# --- Log-in -------------------------------------------------------------------------------------------


def test_login_with_a_code_shows_the_units_applications_across_programmes(client, on_commit, sms_outbox):
    contact = UnitContactFactory(mobile="13700006666")
    old = _unit_application(contact.unit, programme=ProgrammeFactory(year=2025, name="2025年度培训"))
    new = _unit_application(contact.unit, programme=ProgrammeFactory(name="2026年度培训"))
    TraineeFactory(application=new)
    PaidTraineeFactory(application=old)
    foreign = ApplicationFactory(unit_name="别的单位有限公司")
    assert client.get(HOME)["Location"] == f"{LOGIN}?next=%2Fregistration%2Funit-account%2F"

    with on_commit():
        response = client.post(LOGIN, {"mobile": "137 0000 6666"})
    assert response.status_code == 302 and response["Location"] == LOGIN_CODE
    (code,) = _codes(sms_outbox, "13700006666")
    response = client.post(LOGIN_CODE, {"mobile": "13700006666", "code": code})
    assert response.status_code == 302 and response["Location"] == HOME
    page = client.get(HOME)
    text = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "private, no-store"
    assert old.reference in text and new.reference in text and "2025年度培训" in text
    assert foreign.reference not in text and foreign.unit_name not in text
    assert reverse("registration:application_detail", args=[new.access_key]) in text
    assert AuditEntry.objects.filter(action="unit.contact_logged_in", target_id=str(contact.unit_id)).exists()

    client.post(reverse("registration:unit_logout"))
    assert client.get(HOME).status_code == 302


def test_a_code_request_for_an_unknown_number_looks_the_same_and_sends_nothing(on_commit, sms_outbox):
    UnitContactFactory(mobile="13700005555")
    answers = []
    for mobile in ("13700005555", "13700005556"):
        browser = Client()
        with on_commit():
            response = browser.post(LOGIN, {"mobile": mobile})
        page = browser.get(response["Location"])
        answers.append(
            (
                response.status_code,
                response["Location"],
                CSRF.sub(b"", page.content).replace(mobile.encode(), b""),
            )
        )
    assert answers[0] == answers[1]
    assert [m.mobile for m in sms_outbox] == ["13700005555"]


def test_code_requests_are_throttled_per_number(client, on_commit, sms_outbox, settings):
    UnitContactFactory(mobile="13700004444")
    with on_commit():
        assert client.post(LOGIN, {"mobile": "13700004444"}).status_code == 302
        again = Client().post(LOGIN, {"mobile": "13700004444"})  # another browser, within a minute
    assert again.status_code == 429 and "请等待1分钟后再试。" in again.content.decode()
    assert len(sms_outbox) == 1


def test_code_requests_are_limited_per_address(client, on_commit, settings):
    settings.UNIT_RATE_CODE_REQUEST_IP = (2, 3600)
    statuses = [client.post(LOGIN, {"mobile": f"1370000{n:04d}"}).status_code for n in range(3)]
    assert statuses == [302, 302, 429]


def test_five_wrong_codes_use_the_code_up(client, on_commit, sms_outbox):
    UnitContactFactory(mobile="13700003333")
    with on_commit():
        client.post(LOGIN, {"mobile": "13700003333"})
    (code,) = _codes(sms_outbox, "13700003333")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(units.CODE_MAX_ATTEMPTS):
        assert client.post(LOGIN_CODE, {"mobile": "13700003333", "code": wrong}).status_code == 200
    response = client.post(LOGIN_CODE, {"mobile": "13700003333", "code": code})
    assert response.status_code == 200 and SESSION_CONTACT not in client.session
    assert UnitAccessCode.objects.get().used_at is not None


def test_a_removed_contact_is_logged_out_on_the_next_page(client):
    contact = UnitContactFactory()
    _logged_in(client, contact)
    assert client.get(HOME).status_code == 200
    UnitContact.objects.filter(pk=contact.pk).update(active=False)
    assert client.get(HOME).status_code == 302


# --- Recovery (no oracle) -------------------------------------------------------------------------


def _recover(credit_code: str, mobile: str, on_commit):
    browser = Client()
    with on_commit():
        response = browser.post(RECOVER, {"credit_code": credit_code, "mobile": mobile})
    page = browser.get(response["Location"]) if response.status_code == 302 else None
    content = CSRF.sub(b"", page.content).replace(mobile.encode(), b"") if page is not None else b""
    return browser, (response.status_code, response.get("Location"), content)


def test_recovery_answers_alike_for_known_and_unknown_codes_and_numbers(on_commit, sms_outbox):
    unit = UnitFactory()
    _unit_application(unit, contact_phone="13700002222")
    _b, known = _recover(unit.credit_code, "13700002222", on_commit)
    _b, wrong_mobile = _recover(unit.credit_code, "13700002223", on_commit)
    _b, unknown_code = _recover(uscc_make(999_999), "13700002224", on_commit)
    assert known == wrong_mobile == unknown_code
    assert known[0] == 302 and known[1] == RECOVER_CODE
    assert [m.mobile for m in sms_outbox] == ["13700002222"]


def test_recovery_with_the_code_logs_the_contact_in_and_lists_the_links(on_commit, sms_outbox):
    unit = UnitFactory()
    application = _unit_application(unit, contact_phone="13700001111", contact_name="钱联系")
    browser, _answer = _recover(unit.credit_code.lower(), "13700001111", on_commit)
    (code,) = _codes(sms_outbox, "13700001111")
    response = browser.post(RECOVER_CODE, {"mobile": "13700001111", "code": code})
    assert response.status_code == 302 and response["Location"] == HOME
    page = browser.get(HOME).content.decode()
    assert reverse("registration:application_detail", args=[application.access_key]) in page
    assert UnitContact.objects.get(unit=unit).mobile == "13700001111"
    assert AuditEntry.objects.filter(action="unit.links_recovered", target_id=str(unit.pk)).exists()


def test_recovery_refuses_a_removed_contact_that_is_no_applications_contact(on_commit, sms_outbox):
    contact = UnitContactFactory(mobile="13700001212", active=False)
    _unit_application(contact.unit, contact_phone="13700009999")
    _recover(contact.unit.credit_code, "13700001212", on_commit)
    assert not sms_outbox


# --- Contacts -------------------------------------------------------------------------------------------


def test_a_contact_adds_and_removes_contacts_audited(client, on_commit, sms_outbox):
    contact = UnitContactFactory(mobile="13700001313")
    _logged_in(client, contact)
    response = client.post(CONTACTS, {"name": "孙同事", "mobile": "13700001414"})
    assert response.status_code == 302
    added = UnitContact.objects.get(mobile="13700001414")
    assert (added.unit_id, added.added_by_contact_id, added.active) == (contact.unit_id, contact.pk, True)
    twice = client.post(CONTACTS, {"name": "孙同事", "mobile": "13700001414"})
    assert "该手机号码已是本单位的联系人。" in twice.content.decode()
    # The new contact can log in.
    with on_commit():
        Client().post(LOGIN, {"mobile": "13700001414"})
    assert _codes(sms_outbox, "13700001414")

    response = client.post(reverse("registration:unit_contact_remove", args=[added.pk]))
    assert response.status_code == 302
    added.refresh_from_db()
    assert not added.active
    actions = list(AuditEntry.objects.filter(target_id=str(contact.unit_id)).values_list("action", flat=True))
    assert "unit.contact_added" in actions and "unit.contact_removed" in actions


def test_the_last_contact_cannot_remove_itself(client):
    contact = UnitContactFactory()
    _logged_in(client, contact)
    response = client.post(reverse("registration:unit_contact_remove", args=[contact.pk]))
    assert "单位的最后一位联系人不能删除，请先添加另一位联系人。" in _messages(response)
    contact.refresh_from_db()
    assert contact.active


def test_a_contact_of_unit_a_cannot_touch_unit_b(client):
    a = UnitContactFactory()
    b = UnitContactFactory()
    b_application = _unit_application(b.unit)
    _logged_in(client, a)
    assert b_application.reference not in client.get(HOME).content.decode()
    assert client.post(reverse("registration:unit_contact_remove", args=[b.pk])).status_code == 404
    assert client.post(reverse("registration:unit_switch", args=[b.pk])).status_code == 404
    b.refresh_from_db()
    assert b.active and client.session[SESSION_CONTACT] == a.pk


def test_staff_add_and_remove_contacts_and_only_one_actor_is_given():
    unit = UnitFactory()
    staff = StaffFactory()
    contact = units.unit_contact_add(unit=unit, mobile="13700001515", name="周", by_staff=staff)
    assert contact.added_by_staff == staff
    units.unit_contact_remove(contact=contact, by_staff=staff)  # staff may remove the last one
    contact.refresh_from_db()
    assert not contact.active
    with pytest.raises(ValueError):
        units.unit_contact_add(unit=unit, mobile="13700001516")


# --- Merge ---------------------------------------------------------------------------------------------


def test_merge_moves_applications_and_contacts_and_is_audited():
    staff = StaffFactory()
    source, target = UnitFactory(), UnitFactory()
    moved_app = _unit_application(source)
    kept_app = _unit_application(target)
    moving = UnitContactFactory(unit=source, mobile="13700001616")
    shared_source = UnitContactFactory(unit=source, mobile="13700001717")
    shared_target = UnitContactFactory(unit=target, mobile="13700001717", active=False)
    result = units.unit_merge(source=source, target=target, actor=staff)
    assert (result.applications, result.contacts_moved, result.contacts_joined) == (1, 1, 1)
    moved_app.refresh_from_db()
    kept_app.refresh_from_db()
    moving.refresh_from_db()
    shared_source.refresh_from_db()
    shared_target.refresh_from_db()
    source.refresh_from_db()
    assert moved_app.unit == target and kept_app.unit == target
    assert moving.unit == target and shared_target.active and not shared_source.active
    assert source.merged_into == target
    assert AuditEntry.objects.filter(action="unit.merged", target_id=str(source.pk)).exists()
    assert AuditEntry.objects.filter(action="unit.merged_from", target_id=str(target.pk)).exists()
    with pytest.raises(ValidationError):
        units.unit_merge(source=source, target=target, actor=staff)
    # A new application with the merged unit's credit code joins the unit that carries on.
    assert units.unit_for_credit_code(credit_code=source.credit_code, name="x") == target


# --- The home page: a fixed number of queries -------------------------------------------------------


def _home_queries(client, django_assert_max_num_queries, contact, applications: int, trainees: int):
    for _ in range(applications):
        application = _unit_application(contact.unit)
        for n in range(trainees):
            (ApprovedTraineeFactory if n % 2 else TraineeFactory)(application=application)
    _logged_in(client, contact)
    client.get(HOME)  # the site's contacts in the footer are cached after the first page
    with django_assert_max_num_queries(8) as captured:
        response = client.get(HOME)
    assert response.status_code == 200
    assert (
        response.content.decode().count('data-testid="unit-application"')
        == Application.objects.filter(unit=contact.unit).count()
    )
    return len(captured)


def test_the_home_page_reads_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    small = _home_queries(client, django_assert_max_num_queries, UnitContactFactory(), 1, 1)
    large = _home_queries(client, django_assert_max_num_queries, UnitContactFactory(), 6, 5)
    assert small == large


# --- Edits until reviewed, copy / share links (issue #19 point 6) -------------------------------------


def test_the_contact_corrects_a_trainees_mobile_before_review_and_the_new_number_gets_the_link(
    client, on_commit, sms_outbox
):
    trainee = TraineeFactory(name="吴学员", mobile="13700002020")
    application = trainee.application
    url = reverse("registration:trainee_edit", args=[application.access_key, trainee.pk])
    page = client.get(
        reverse("registration:application_detail", args=[application.access_key])
    ).content.decode()
    assert url in page
    assert reverse("registration:attachment2", args=[trainee.access_key]) in page  # the link to copy
    form = client.get(url).content.decode()
    assert trainee.id_number not in form  # the full ID number is never shown again
    data = {
        "name": "吴学员",
        "id_number": "",
        "mobile": "13700002121",
        "email": "",
        "certificate_type": "safety_manager",
        "training_category": "initial",
        "previous_certificate_no": "",
    }
    with on_commit():
        response = client.post(url, data)
    assert response.status_code == 302
    trainee.refresh_from_db()
    assert (trainee.mobile, trainee.certificate_type) == ("13700002121", "safety_manager")
    assert trainee.id_number_hash  # kept
    assert [m.kind for m in sms_outbox if m.mobile == "13700002121"] == ["attachment2_link"]
    entry = AuditEntry.objects.get(action="trainee.roster_updated", target_id=str(trainee.pk))
    assert entry.old_value["mobile"] == "13700002020" and entry.new_value["mobile"] == "13700002121"


def test_a_bad_mobile_is_refused_with_the_sign_up_rule(client):
    trainee = TraineeFactory()
    url = reverse("registration:trainee_edit", args=[trainee.application.access_key, trainee.pk])
    response = client.post(
        url,
        {
            "name": trainee.name,
            "id_number": "",
            "mobile": "1234",
            "certificate_type": "principal",
            "training_category": "initial",
        },
    )
    assert response.status_code == 200
    assert "请输入 11 位中国大陆手机号，例如 13812345678。" in response.content.decode()


def test_an_approved_trainee_can_no_longer_be_edited(client):
    trainee = ApprovedTraineeFactory(name="郑学员")
    application = trainee.application
    url = reverse("registration:trainee_edit", args=[application.access_key, trainee.pk])
    assert (
        url
        not in client.get(
            reverse("registration:application_detail", args=[application.access_key])
        ).content.decode()
    )
    response = client.post(
        url,
        {
            "name": "篡改",
            "id_number": "",
            "mobile": "13700002222",
            "certificate_type": "principal",
            "training_category": "initial",
        },
    )
    assert response.status_code == 302
    assert "郑学员的报名状态为“审核通过”，已不能修改。如需更正，请联系协会。" in _messages(response)
    trainee.refresh_from_db()
    assert trainee.name == "郑学员" and trainee.mobile != "13700002222"


def test_the_service_refuses_an_edit_after_review_even_when_the_page_was_open():
    from registration.services.roster_edits import registration_trainee_update

    trainee = TraineeFactory()
    stale = Trainee.objects.get(pk=trainee.pk)
    Trainee.objects.filter(pk=trainee.pk).update(status="approved")
    with pytest.raises(ValidationError):
        registration_trainee_update(
            trainee=stale,
            row={
                "name": "新名字",
                "id_number": trainee.id_number,
                "mobile": trainee.mobile,
                "certificate_type": "principal",
                "training_category": "initial",
            },
        )


def test_a_trainee_is_added_to_the_application_with_the_contacts_consent(client, on_commit, sms_outbox):
    trainee = TraineeFactory()
    application = trainee.application
    url = reverse("registration:trainee_add", args=[application.access_key])
    row = {
        "name": "冯新增",
        "id_number": id_number_make(4711),
        "mobile": "13700002323",
        "email": "",
        "certificate_type": "principal",
        "training_category": "initial",
        "previous_certificate_no": "",
    }
    refused = client.post(url, row)
    assert refused.status_code == 200 and not Trainee.objects.filter(name="冯新增").exists()
    with on_commit():
        response = client.post(url, {**row, **ATTACHMENT1_CONSENTS_POST})
    assert response.status_code == 302
    added = Trainee.objects.get(name="冯新增")
    assert added.application == application and added.row_number == trainee.row_number + 1
    assert added.consents.filter(kind="id_number", given_by="contact").exists()
    assert [m.kind for m in sms_outbox if m.mobile == "13700002323"] == ["attachment2_link"]
    assert AuditEntry.objects.filter(action="application.trainee_added", target_id=str(added.pk)).exists()
    # The same mobile twice in one application is the roster's own mistake, and shown.
    again = client.post(url, {**row, "id_number": id_number_make(4712), **ATTACHMENT1_CONSENTS_POST})
    assert "手机号码13700002323已用于本报名的另一位学员。" in again.content.decode()


def test_an_edit_colliding_with_a_registration_elsewhere_is_flagged_not_revealed(client, on_commit):
    registered = TraineeFactory(mobile="13700002424")
    trainee = TraineeFactory(application=ApplicationFactory(programme=registered.programme))
    url = reverse("registration:trainee_edit", args=[trainee.application.access_key, trainee.pk])
    with on_commit():
        response = client.post(
            url,
            {
                "name": trainee.name,
                "id_number": "",
                "mobile": "13700002424",
                "certificate_type": "principal",
                "training_category": "initial",
            },
        )
    assert response.status_code == 302  # saved like any other correction
    trainee.refresh_from_db()
    assert trainee.is_duplicate and trainee.duplicate_of == registered


def test_a_number_that_is_contact_of_two_units_switches_between_them(client, on_commit, sms_outbox):
    first = UnitContactFactory(mobile="13700002525", unit=UnitFactory(name="一号单位有限公司"))
    second = UnitContactFactory(mobile="13700002525", unit=UnitFactory(name="二号单位有限公司"))
    second_application = _unit_application(second.unit)
    with on_commit():
        client.post(LOGIN, {"mobile": "13700002525"})
    (code,) = _codes(sms_outbox, "13700002525")
    client.post(LOGIN_CODE, {"mobile": "13700002525", "code": code})
    page = client.get(HOME).content.decode()
    assert "一号单位有限公司" in page and second_application.reference not in page
    assert client.session[SESSION_CONTACT] == first.pk
    response = client.post(reverse("registration:unit_switch", args=[second.pk]))
    assert response["Location"] == HOME and client.session[SESSION_CONTACT] == second.pk
    assert second_application.reference in client.get(HOME).content.decode()


def test_after_log_in_the_contact_lands_on_the_page_asked_for_and_never_off_site(
    client, on_commit, sms_outbox
):
    UnitContactFactory(mobile="13700002626")
    with on_commit():
        response = client.post(f"{LOGIN}?next={CONTACTS}", {"mobile": "13700002626", "next": CONTACTS})
    assert response["Location"] == f"{LOGIN_CODE}?next=%2Fregistration%2Funit-account%2Fcontacts%2F"
    (code,) = _codes(sms_outbox, "13700002626")
    response = client.post(response["Location"], {"mobile": "13700002626", "code": code, "next": CONTACTS})
    assert response["Location"] == CONTACTS
    client.post(reverse("registration:unit_logout"))
    cache.clear()  # the one-code-a-minute turn of the number
    with on_commit():
        client.post(LOGIN, {"mobile": "13700002626"})
    code = _codes(sms_outbox, "13700002626")[-1]
    response = client.post(
        LOGIN_CODE, {"mobile": "13700002626", "code": code, "next": "https://evil.example/"}
    )
    assert response["Location"] == HOME


def test_the_unit_pages_speak_english_too(client):
    contact = UnitContactFactory()
    _unit_application(contact.unit)
    _logged_in(client, contact)
    client.cookies["django_language"] = "en"
    page = client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 application" in page and "Copy link" in page and "Contacts" in page
