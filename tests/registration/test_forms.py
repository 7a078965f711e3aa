import pytest

from registration.forms import (
    ApplicantForm,
    Attachment2Form,
    IndividualForm,
    RosterRowForm,
    roster_form_data,
    roster_formset,
    roster_rows_posted,
)
from registration.models import Programme
from registration.validators import id_number_mask
from tests.factories import (
    ATTACHMENT1_CONSENTS_POST,
    ATTACHMENT2_CONSENTS_POST,
    CompleteTraineeFactory,
    TraineeFactory,
    applicant_data,
    id_number_make,
    mobile_make,
    roster_rows,
    upload,
)

# The consent checkboxes name the association (read from the database) in their text.
pytestmark = pytest.mark.django_db


def applicant(**overrides) -> dict:
    data = {k: v for k, v in applicant_data().items() if k != "kind"}
    data.update(ATTACHMENT1_CONSENTS_POST)
    data.update(overrides)
    return data


def errors(form) -> dict[str, list[str]]:
    return {name: list(messages) for name, messages in form.errors.items()}


def row(**overrides) -> dict:
    data = dict(roster_rows(1)[0])
    data.update(overrides)
    return data


# --- ApplicantForm ----------------------------------------------------------------------------


def test_applicant_form_valid_data_gives_the_service_dict():
    form = ApplicantForm(
        applicant(
            contact_phone="+86 137-0000-8888", invoice_tax_id=applicant_data()["invoice_tax_id"].lower()
        )
    )
    assert form.is_valid(), form.errors
    data = form.applicant_data()
    assert data["kind"] == "unit"
    assert data["contact_phone"] == "13700008888"
    assert data["invoice_tax_id"] == applicant_data()["invoice_tax_id"]
    assert set(data) == {
        "kind",
        "unit_name",
        "industry",
        "contact_name",
        "contact_phone",
        "contact_email",
        "mail_recipient",
        "mail_phone",
        "mail_address",
        "invoice_title",
        "invoice_tax_id",
        "invoice_email",
        "area_confirmed",
    }


def test_applicant_form_accepts_a_landline_for_the_contact():
    form = ApplicantForm(applicant(contact_phone="020-83331234"))
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("industry", "E", "高危行业"),  # construction
        ("industry", "B", "高危行业"),  # mining
        ("industry", "ZZ", ""),
        ("contact_phone", "12345", ""),
        ("mail_phone", "abc", ""),
        ("invoice_tax_id", "91440101000000000X", ""),  # wrong check character
        ("invoice_email", "not-an-email", ""),
        ("contact_email", "nope@", ""),
        ("unit_name", "", "必填"),
        ("mail_address", "", "必填"),
    ],
)
def test_applicant_form_field_errors(field, value, expected):
    form = ApplicantForm(applicant(**{field: value}))
    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert expected in form.errors[field][0]


def test_applicant_form_needs_the_tax_id_of_a_unit():
    form = ApplicantForm(applicant(invoice_tax_id=""))
    assert list(form.errors) == ["invoice_tax_id"]


# --- RosterRowForm ------------------------------------------------------------------------------


def test_roster_row_normalises_id_and_mobile():
    legacy = id_number_make(7)[:6] + id_number_make(7)[8:17]  # the 15-digit form of a 1900s number
    form = RosterRowForm(row(id_number=legacy.lower(), mobile="+86 137 0000 0000", name="  张  三 "))
    assert form.is_valid(), form.errors
    assert len(form.cleaned_data["id_number"]) == 18
    assert form.cleaned_data["mobile"] == "13700000000"
    assert form.cleaned_data["name"] == "张 三"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("id_number", "440106199001011230"),  # wrong check digit
        ("id_number", "44010619900101"),
        ("mobile", "1370000"),
        ("mobile", "02083331234"),
        ("email", "x@"),
        ("certificate_type", "boss"),
        ("training_category", ""),
    ],
)
def test_roster_row_field_errors(field, value):
    form = RosterRowForm(row(**{field: value}))
    assert not form.is_valid()
    assert field in form.errors


def test_refresher_needs_the_previous_certificate_number_where_the_programme_says_so():
    strict = Programme(previous_certificate_required=True)
    form = RosterRowForm(row(training_category="refresher"), programme=strict)
    assert not form.is_valid()
    # The service's rule and message (registration.services.applications.roster_row_check).
    assert errors(form) == {"previous_certificate_no": ["再培训须填写原培训证书编号。"]}
    assert RosterRowForm(
        row(training_category="refresher", previous_certificate_no="A1"), programme=strict
    ).is_valid()


@pytest.mark.parametrize("programme", [None, Programme()], ids=["no programme", "default programme"])
def test_previous_certificate_number_is_optional_by_default(programme):
    """The notice does not ask refresher trainees for it: asked for, not required."""
    form = RosterRowForm(row(training_category="refresher"), programme=programme)
    assert form.is_valid(), form.errors
    assert form.roster_data()["previous_certificate_no"] == ""


# --- The roster formset -------------------------------------------------------------------------


def test_formset_row_errors_land_on_the_right_row():
    rows = roster_rows(4)
    rows[2]["mobile"] = "123"
    formset = roster_formset(roster_form_data(rows))
    assert not formset.is_valid()
    assert [bool(form.errors) for form in formset.forms] == [False, False, True, False]
    assert "mobile" in formset.forms[2].errors


def test_formset_duplicate_person_and_mobile_name_the_other_row():
    """The service's duplicate rule and messages: every row involved names the others."""
    rows = roster_rows(3)
    rows[2]["id_number"] = rows[0]["id_number"]
    rows[1]["mobile"] = rows[0]["mobile"]
    formset = roster_formset(roster_form_data(rows))
    assert not formset.is_valid()
    person = "同一人（身份证号码 {}）也出现在第 {} 行。"
    mobile = "手机号码 {} 也填写在第 {} 行：一人一号（须为学员本人的手机号码）。"
    masked = id_number_mask(rows[0]["id_number"])
    assert errors(formset.forms[0]) == {
        "id_number": [person.format(masked, 3)],
        "mobile": [mobile.format(rows[0]["mobile"], 2)],
    }
    assert errors(formset.forms[1]) == {"mobile": [mobile.format(rows[0]["mobile"], 1)]}
    assert errors(formset.forms[2]) == {"id_number": [person.format(masked, 1)]}


def test_formset_skips_blank_and_deleted_rows_and_numbers_rows_as_shown():
    rows = roster_rows(3)
    blank = dict.fromkeys(rows[0], "")
    data = roster_form_data([rows[0], blank, rows[1], rows[2]])
    data["roster-2-DELETE"] = "on"
    formset = roster_formset(data)
    assert formset.is_valid(), formset.errors
    assert [(number, form.cleaned_data["name"]) for number, form in formset.rows()] == [
        (1, rows[0]["name"]),
        (4, rows[2]["name"]),
    ]


def test_formset_needs_at_least_one_row():
    formset = roster_formset(roster_form_data([dict.fromkeys(roster_rows(1)[0], "")]))
    assert not formset.is_valid()
    assert "至少" in formset.non_form_errors()[0]


def test_unbound_formset_with_initial_rows_posts_back_as_new_rows():
    rows = roster_rows(2)
    formset = roster_formset(initial=rows, blank_rows=3)
    assert len(formset.forms) == 5
    assert formset.management_form.initial["INITIAL_FORMS"] == 0
    assert formset.forms[1]["name"].value() == rows[1]["name"]


def test_roster_rows_posted_reads_what_was_typed():
    rows = roster_rows(3)
    rows[1]["id_number"] = "bad"
    data = roster_form_data(rows + [dict.fromkeys(rows[0], "")])
    data["roster-0-DELETE"] = "on"
    posted = roster_rows_posted(data)
    assert [r["name"] for r in posted] == [rows[1]["name"], rows[2]["name"]]
    assert posted[0]["id_number"] == "bad"


def test_formset_refuses_too_many_rows():
    formset = roster_formset(roster_form_data(roster_rows(1)) | {"roster-TOTAL_FORMS": "5000"})
    assert not formset.is_valid()


# --- IndividualForm -----------------------------------------------------------------------------


def individual(**overrides):
    data = {
        "name": "张个人",
        "id_number": id_number_make(11),
        "mobile": mobile_make(11),
        "email": "me@example.org",
        "certificate_type": "principal",
        "training_category": "initial",
        "industry": "F",
        "mail_address": "广州市越秀区示例路 3 号",
        **ATTACHMENT1_CONSENTS_POST,
    }
    data.update(overrides)
    return data


def test_individual_defaults_to_the_person():
    form = IndividualForm(individual())
    assert form.is_valid(), form.errors
    data = form.applicant_data()
    assert data["kind"] == "individual"
    assert (
        data["unit_name"]
        == data["invoice_title"]
        == data["contact_name"]
        == data["mail_recipient"]
        == "张个人"
    )
    assert data["contact_phone"] == data["mail_phone"] == mobile_make(11)
    assert data["invoice_email"] == data["contact_email"] == "me@example.org"
    assert form.roster_data()["id_number"] == id_number_make(11)


def test_individual_with_a_work_unit_and_invoice_details():
    form = IndividualForm(
        individual(
            unit_name="示例公司",
            invoice_email="fin@example.org",
            mail_recipient="前台",
            mail_phone="020-83331234",
        )
    )
    assert form.is_valid(), form.errors
    data = form.applicant_data()
    assert data["unit_name"] == data["invoice_title"] == "示例公司"
    assert data["invoice_email"] == "fin@example.org"
    assert data["mail_recipient"] == "前台" and data["mail_phone"] == "020-83331234"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("industry", "G54"),
        ("email", ""),
        ("mail_address", ""),
        ("invoice_tax_id", "123"),
        ("mail_phone", "x"),
    ],
)
def test_individual_field_errors(field, value):
    form = IndividualForm(individual(**{field: value}))
    assert not form.is_valid()
    assert field in form.errors


# --- Attachment2Form ----------------------------------------------------------------------------


def attachment2(trainee, **overrides):
    data = {
        "education": "bachelor",
        "safety_years": "3",
        "work_unit": "示例公司",
        "work_unit_address": "广州市",
        "mailing_address": "广州市",
        "work_history": "2020- 示例公司",
        "declaration_name": trainee.name,
        **ATTACHMENT2_CONSENTS_POST,
    }
    data.update(overrides)
    return data


def _files():
    return {
        "photo": upload(),
        "id_front": upload(width=800, height=500),
        "id_back": upload(width=800, height=500),
    }


@pytest.mark.django_db
def test_attachment2_form_valid_with_files():
    trainee = TraineeFactory()
    form = Attachment2Form(
        attachment2(trainee, declaration_name=f" {trainee.name} "), _files(), trainee=trainee
    )
    assert form.is_valid(), form.errors
    assert form.service_data()["safety_years"] == 3
    assert set(form.service_files()) == {"photo", "id_front", "id_back"}


@pytest.mark.django_db
def test_attachment2_form_needs_documents_only_when_none_uploaded_yet():
    new = TraineeFactory()
    form = Attachment2Form(attachment2(new), {}, trainee=new)
    assert not form.is_valid()
    assert {"photo", "id_front", "id_back"} <= set(form.errors)
    done = CompleteTraineeFactory()
    form = Attachment2Form(attachment2(done), {}, trainee=done)
    assert form.is_valid(), form.errors
    assert form.service_files() == {"photo": None, "id_front": None, "id_back": None}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("education", "phd"),
        ("safety_years", "-1"),
        ("safety_years", "61"),
        ("landline", "12"),
        ("declaration_name", "别人"),
        ("work_history", ""),
    ],
)
def test_attachment2_form_field_errors(field, value):
    trainee = TraineeFactory()
    form = Attachment2Form(attachment2(trainee, **{field: value}), _files(), trainee=trainee)
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.django_db
def test_attachment2_form_shows_the_services_rules_and_messages():
    """Years in safety work, landline, signature and documents are the service's rules: the form
    shows its messages (registration.services.attachment2.attachment2_check), each once."""
    trainee = TraineeFactory(name="张三")
    data = attachment2(trainee, safety_years="61", landline="020-123", declaration_name="李四")
    form = Attachment2Form(data, {}, trainee=trainee)
    assert not form.is_valid()
    assert errors(form) == {
        "safety_years": ["请输入 0 到 60 之间的年数。"],
        "landline": ["请输入手机号码或带区号的固定电话，例如 020-12345678。"],
        "declaration_name": ["请输入与报名信息一致的姓名（张三）作为承诺签名。"],
        "photo": ["请上传证件相片。"],
        "id_front": ["请上传身份证复印件（正反两面）。"],
        "id_back": ["请上传身份证复印件（正反两面）。"],
    }
    form = Attachment2Form(
        attachment2(trainee, declaration_name="", safety_years="三"), _files(), trainee=trainee
    )
    assert errors(form) == {
        "declaration_name": ["请输入您的姓名作为承诺签名。"],
        "safety_years": ["请输入整数年数。"],
    }


@pytest.mark.django_db
def test_attachment2_form_reports_an_empty_field_once():
    trainee = TraineeFactory()
    form = Attachment2Form(attachment2(trainee, work_unit="", safety_years=""), _files(), trainee=trainee)
    assert errors(form) == {"work_unit": ["这个字段是必填项。"], "safety_years": ["这个字段是必填项。"]}


def test_roster_card_escapes_what_was_typed_and_keeps_the_selection():
    rows = roster_rows(1, name='<script>alert("x")</script>', training_category="refresher")
    formset = roster_formset(roster_form_data(rows), programme=Programme(previous_certificate_required=True))
    formset.is_valid()
    html = formset.forms[0].as_roster_card()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<option value="refresher" selected>' in html
    assert 'aria-invalid="true"' in html  # the refresher has no previous certificate number
    assert 'id="id_roster-0-previous_certificate_no_error"' in html


def test_empty_form_card_is_a_template_with_placeholders():
    html = roster_formset().empty_form.as_roster_card()
    assert 'name="roster-__prefix__-name"' in html and "__num__" in html
    assert "selected" not in html
