"""Issue #21 in the browser, on a phone: a unit trained last year gets the refresher invitation,
logs in to its unit account with the code by SMS, sees its people with their refresher dates,
ticks three of them, finds the sign-up pre-filled with last year's data, submits it, and the
application page shows the three; the rest of the pipeline is the normal sign-up's."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from certificates.services.refresher import refresher_invitations_send
from registration.models import Application
from tests.factories import ProgrammeFactory, UnitContactFactory, UnitFactory, certified_person_make

from .a11y import assert_accessible_basics, assert_tap_targets

pytestmark = pytest.mark.django_db(transaction=True)


def _code(sms_outbox, mobile: str) -> str:
    codes = [m.params["code"] for m in sms_outbox if m.mobile == mobile and m.kind == "unit_login_code"]
    assert codes, [m.kind for m in sms_outbox]
    return codes[-1]


def test_unit_reregisters_three_people_on_a_phone(live_server, open_page, sms_outbox):
    last_year = timezone.localdate() - datetime.timedelta(days=370)
    unit = UnitFactory(name="示例市安康机械有限公司")
    contact = UnitContactFactory(unit=unit, mobile="13700006000", name="陈经理")
    first = certified_person_make(issue_date=last_year, unit=unit)
    application = first.enrollment.trainee.application
    people = [first] + [
        certified_person_make(issue_date=last_year, application=application) for _ in range(3)
    ]
    programme = ProgrammeFactory(name="2026年度线上培训")
    refresher_invitations_send(programme_id=programme.pk)
    assert [m.mobile for m in sms_outbox if m.kind == "refresher_invitation_contact"] == [contact.mobile]

    phone = open_page("phone")
    page = phone.page
    page.set_viewport_size({"width": 375, "height": 812})  # the narrowest phone we support
    page.goto(live_server.url + "/registration/unit-account/people/")
    # Not logged in: the unit log-in, then back to the people page.
    page.locator("#id_mobile").fill(contact.mobile)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    if page.locator("#id_mobile").count() and not page.locator("#id_mobile").input_value():
        page.locator("#id_mobile").fill(contact.mobile)
    page.locator("#id_code").fill(_code(sms_outbox, contact.mobile))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/registration/unit-account/people/")

    cards = page.locator("[data-testid=person]")
    expect(cards).to_have_count(4)
    for certificate in people:
        expect(page.locator("main")).to_contain_text(certificate.number)
        expect(page.locator("main")).to_contain_text(certificate.enrollment.trainee.id_number_masked)
    assert page.locator("[data-state=overdue]").count() == 4
    phone.assert_no_horizontal_scroll()
    assert_tap_targets(page)
    assert_accessible_basics(page)
    phone.screenshot("people")

    chosen = people[:3]
    for certificate in chosen:
        page.locator(f"#person-{certificate.enrollment.trainee.pk}").check()
    page.locator("[data-testid=reregister]").click()
    page.wait_for_load_state()

    # Last year's data, editable, the consent given anew.
    expect(page.locator("#id_unit_name")).to_have_value(application.unit_name)
    expect(page.locator("#id_invoice_tax_id")).to_have_value(application.invoice_tax_id)
    for row, certificate in enumerate(chosen):
        trainee = certificate.enrollment.trainee
        expect(page.locator(f"#id_roster-{row}-name")).to_have_value(trainee.name)
        expect(page.locator(f"#id_roster-{row}-mobile")).to_have_value(trainee.mobile)
        expect(page.locator(f"#id_roster-{row}-training_category")).to_have_value("refresher")
        expect(page.locator(f"#id_roster-{row}-previous_certificate_no")).to_have_value(certificate.number)
    expect(page.locator("#id_consent_id_number")).not_to_be_checked()
    page.locator("#id_roster-2-mobile").fill("13912340003")
    phone.assert_no_horizontal_scroll()
    phone.screenshot("prefilled")
    page.locator("#id_consent_id_number").check()
    page.locator("button.btn-primary[name=action][value=submit]").click()
    page.wait_for_url("**/registration/a/**")

    new = Application.objects.get(programme=programme)
    for certificate in chosen:
        expect(page.locator("main")).to_contain_text(certificate.enrollment.trainee.name)
    expect(page.locator("main")).not_to_contain_text(people[3].enrollment.trainee.name)
    assert sorted(new.trainees.values_list("training_category", flat=True)) == ["refresher"] * 3
    assert new.trainees.get(row_number=3).mobile == "13912340003"
    phone.assert_no_horizontal_scroll()
    phone.screenshot("application")
