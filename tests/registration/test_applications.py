"""The rules of attachment 1 that depend on the programme (issue 19, the notice's remaining rules),
in :mod:`registration.services.applications` and on the unit form: the previous certificate number
of a refresher trainee is asked for, required only where the programme says so; a unit whose
credit code is registered outside the programme's area (Guangzhou, 4401) confirms it trains there
and is flagged for the reviewers (admin: tests/registration/test_admin.py)."""

import pytest
from django.urls import reverse
from django.utils import translation
from stdnum.cn import uscc

from portal.models import AuditEntry
from registration.forms import roster_form_data
from registration.models import Application, Trainee
from registration.services.applications import RosterValidationError, application_submit
from tests.factories import ATTACHMENT1_CONSENTS_POST, ProgrammeFactory, applicant_data, roster_rows

pytestmark = pytest.mark.django_db

SHENZHEN_CODE = "91440300000000777" + uscc.calc_check_digit("91440300000000777")


@pytest.fixture
def programme():
    return ProgrammeFactory()


def submit(programme, rows, **applicant):
    return application_submit(
        programme=programme,
        applicant=applicant_data(**applicant),
        roster=rows,
        consents=("id_number",),
        ip="10.0.0.1",
    )


def roster_error(programme, rows, **applicant) -> RosterValidationError:
    with translation.override("en"), pytest.raises(RosterValidationError) as excinfo:
        submit(programme, rows, **applicant)
    return excinfo.value


def unit_post(rows, **overrides) -> dict:
    data = {name: value for name, value in applicant_data().items() if name != "kind"}
    data.update(roster_form_data(rows))
    data.update(ATTACHMENT1_CONSENTS_POST)
    data["action"] = "submit"
    data.update(overrides)
    return data


# -- the previous certificate number of a refresher trainee ---------------------------------------


def test_refresher_needs_previous_certificate_where_the_programme_says_so(programme):
    programme.previous_certificate_required = True
    programme.save(update_fields=["previous_certificate_required"])
    rows = roster_rows(1, training_category="refresher")
    error = roster_error(programme, rows)
    assert list(error.row_errors[1]) == ["previous_certificate_no"]
    assert error.row_errors[1]["previous_certificate_no"] == [
        "Refresher training needs the number of the previous training certificate."
    ]


def test_refresher_previous_certificate_is_optional_by_default(programme):
    """The notice does not ask refresher trainees for it: asked for, not required."""
    assert not programme.previous_certificate_required
    application = submit(programme, roster_rows(1, training_category="refresher"))
    trainee = application.trainees.get()
    assert trainee.training_category == "refresher" and trainee.previous_certificate_no == ""


# -- the programme's area (the notice: units in Guangzhou's administrative area) ----------------


def test_unit_registered_outside_the_area_confirms_it_trains_there(programme):
    assert programme.area_code_prefix == "4401"
    error = roster_error(programme, roster_rows(1), invoice_tax_id=SHENZHEN_CODE)
    assert error.applicant_errors == {
        "area_confirmed": [
            f"Credit code {SHENZHEN_CODE} is registered outside 广州市, and this training is for units in "
            "广州市's administrative area. Confirm that the unit's trainees work in 广州市."
        ]
    }
    assert not Application.objects.exists()
    application = submit(programme, roster_rows(1), invoice_tax_id=SHENZHEN_CODE, area_confirmed=True)
    assert application.outside_area
    entry = AuditEntry.objects.get(action="application.submitted")
    assert entry.new_value["outside_area"] is True and entry.new_value["area_confirmed"] is True


def test_unit_in_the_area_is_not_asked(programme):
    application = submit(programme, roster_rows(1))  # 440101: Guangzhou
    assert not application.outside_area
    assert "outside_area" not in AuditEntry.objects.get(action="application.submitted").new_value


def test_area_rule_follows_the_programme(programme):
    programme.area_code_prefix = "4403"  # Shenzhen
    programme.save(update_fields=["area_code_prefix"])
    assert not submit(programme, roster_rows(1), invoice_tax_id=SHENZHEN_CODE).outside_area
    with translation.override("zh-hans"), pytest.raises(RosterValidationError) as excinfo:
        submit(programme, roster_rows(1, start=5))  # 440101
    assert excinfo.value.applicant_errors["area_confirmed"][0].startswith(
        f"统一社会信用代码 {applicant_data()['invoice_tax_id']} 的登记地不在深圳市"
    )
    programme.area_code_prefix = ""  # no area: nothing asked
    programme.save(update_fields=["area_code_prefix"])
    assert not submit(programme, roster_rows(1, start=10)).outside_area


def test_individual_is_not_asked_about_the_area(programme):
    application = submit(programme, roster_rows(1), kind="individual", invoice_tax_id=SHENZHEN_CODE)
    assert not application.outside_area


# -- the unit form -------------------------------------------------------------------------------


def test_unit_form_asks_about_the_area_only_for_a_code_registered_elsewhere(client, programme):
    html = client.get(reverse("registration:unit_register")).content.decode()
    assert 'id="area-confirm" data-area-prefix="4401" hidden' in html  # there for the script, hidden
    assert "/static/registration/area.js" in html
    url = reverse("registration:unit_register")
    response = client.post(url, unit_post(roster_rows(1), invoice_tax_id=SHENZHEN_CODE))
    assert response.status_code == 200 and not Application.objects.exists()
    form = response.context["form"]
    assert form.errors == {
        "area_confirmed": [
            f"统一社会信用代码 {SHENZHEN_CODE} 的登记地不在广州市，而本培训面向广州市行政区域内的单位。"
            "请确认本单位参训人员在广州市工作。"
        ]
    }
    html = response.content.decode()
    assert 'id="area-confirm" data-area-prefix="4401">' in html  # shown now
    assert "本单位参训人员在广州市行政区域内工作（本培训面向该区域）。" in html
    response = client.post(url, unit_post(roster_rows(1), invoice_tax_id=SHENZHEN_CODE, area_confirmed="on"))
    assert response.status_code == 302
    assert Application.objects.get().outside_area


def test_unit_form_in_the_area_submits_without_the_question(client, programme):
    response = client.post(reverse("registration:unit_register"), unit_post(roster_rows(1)))
    assert response.status_code == 302
    assert not Application.objects.get().outside_area


def test_refresher_without_previous_certificate_number_signs_up(client, programme):
    rows = roster_rows(1, training_category="refresher")
    response = client.post(reverse("registration:unit_register"), unit_post(rows))
    assert response.status_code == 302
    assert Trainee.objects.get().previous_certificate_no == ""
    assert "有原证书编号的请填写" in client.get(reverse("registration:unit_register")).content.decode()
    programme.previous_certificate_required = True
    programme.save(update_fields=["previous_certificate_required"])
    response = client.post(
        reverse("registration:unit_register"),
        unit_post(roster_rows(1, start=3, training_category="refresher")),
    )
    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors == {
        "previous_certificate_no": ["再培训须填写原培训证书编号。"]
    }
