import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader

from portal.roles import REVIEWER
from registration.forms import roster_form_data
from registration.models import Application, Trainee, TraineeStatus
from registration.services.review import trainee_return
from tests.factories import (
    ATTACHMENT1_CONSENTS_POST,
    ATTACHMENT2_CONSENTS_POST,
    CompleteTraineeFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
    UserFactory,
    applicant_data,
    id_number_make,
    image_bytes,
    mobile_make,
    roster_rows,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme():
    return ProgrammeFactory(fee_initial_fen=80_000, fee_refresher_fen=30_000)


def unit_post(rows, **overrides) -> dict:
    data = {name: value for name, value in applicant_data().items() if name != "kind"}
    data.update(roster_form_data(rows))
    data.update(ATTACHMENT1_CONSENTS_POST)
    data["action"] = "submit"
    data.update(overrides)
    return data


def xlsx(rows, *, header_row=1, applicant=None) -> io.BytesIO:
    """A roster-only workbook: optional label rows, the header, then ``rows`` (lists of cells)."""
    wb = Workbook()
    ws = wb.active
    for label, value in (applicant or {}).items():
        ws.append([label, value])
    while ws.max_row < header_row - 1:
        ws.append([])
    ws.append(["序号", "姓名", "身份证号码", "手机号码", "证书类型", "培训类别", "原证书编号"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "roster.xlsx"
    return out


# --- Start page -----------------------------------------------------------------------------


def test_start_page_shows_fees_hours_and_both_choices(client, programme):
    html = client.get(reverse("registration:start")).content.decode()
    assert programme.name in html
    assert "800.00" in html and "300.00" in html
    assert str(programme.hours_initial) in html and str(programme.hours_refresher) in html
    assert reverse("registration:unit_register") in html
    assert reverse("registration:individual_register") in html
    assert "高危" in html  # the exclusion of high-risk industries is explained


def test_start_page_and_forms_without_an_open_programme(client):
    assert client.get(reverse("registration:start")).status_code == 200
    response = client.get(reverse("registration:unit_register"))
    assert "registration/closed.html" in [t.name for t in response.templates]


def test_home_page_links_to_registration(client, programme):
    html = client.get("/").content.decode()
    assert reverse("registration:unit_register") in html
    assert reverse("registration:individual_register") in html


# --- Unit registration ------------------------------------------------------------------------


def test_unit_form_renders_one_blank_row_and_the_row_template(client, programme):
    response = client.get(reverse("registration:unit_register"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="roster-TOTAL_FORMS" value="1"' in html
    assert 'id="roster-empty-row"' in html and "roster-__prefix__-id_number" in html
    assert "registration/roster.js" in html
    assert "<script>" not in html  # no inline script (CSP)


def test_unit_registers_three_trainees_and_sees_the_fee_due(
    client, programme, sms_outbox, django_capture_on_commit_callbacks
):
    rows = roster_rows(3)
    rows[2].update(training_category="refresher", previous_certificate_no="GD2023-0001")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("registration:unit_register"), unit_post(rows))
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("registration:application_detail", args=[application.access_key])
    assert application.trainees.count() == 3
    assert application.kind == "unit"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "1,900.00" in html  # 2 × 800 + 1 × 300
    assert page["Cache-Control"].startswith("private")
    for row in rows:
        assert row["name"] in html
        assert row["id_number"] not in html  # masked on the shared page
    assert sms_outbox  # the contact and the trainees were told


def test_unit_form_errors_name_field_and_row_and_save_nothing(client, programme):
    rows = roster_rows(3)
    rows[1]["id_number"] = rows[1]["id_number"][:-1] + ("0" if rows[1]["id_number"][-1] != "0" else "1")
    rows[2]["mobile"] = "12345"
    response = client.post(
        reverse("registration:unit_register"), unit_post(rows, industry="E", invoice_tax_id="123")
    )
    assert response.status_code == 200
    assert Application.objects.count() == 0 and Trainee.objects.count() == 0
    form, formset = response.context["form"], response.context["formset"]
    assert "industry" in form.errors and "invoice_tax_id" in form.errors
    assert not formset.forms[0].errors
    assert "id_number" in formset.forms[1].errors
    assert "mobile" in formset.forms[2].errors
    summary = [error["text"] for error in response.context["error_summary"]]
    assert any("第 2 行" in text and "身份证号码" in text for text in summary)
    assert any("第 3 行" in text and "手机号码" in text for text in summary)
    html = response.content.decode()
    assert "高危行业" in html
    assert f'value="{rows[0]["name"]}"' in html  # what was typed comes back


def test_duplicate_person_in_the_roster_points_at_both_rows(client, programme):
    rows = roster_rows(3)
    rows[2]["id_number"] = rows[0]["id_number"]
    response = client.post(reverse("registration:unit_register"), unit_post(rows))
    formset = response.context["formset"]
    assert "id_number" in formset.forms[2].errors
    assert "1" in formset.forms[2].errors["id_number"][0]
    assert Application.objects.count() == 0


def test_rows_left_out_do_not_shift_the_service_rows(client, programme):
    """The second row is left out: the third becomes the application's row 2, and it is the one
    flagged as a duplicate of the registered person (nothing said about it on the page)."""
    taken = TraineeFactory(
        application__programme=programme, id_number=id_number_make(501), mobile=mobile_make(501)
    )
    rows = roster_rows(2) + [dict(roster_rows(1, start=501)[0])]
    data = unit_post(rows)
    data["roster-1-DELETE"] = "on"
    response = client.post(reverse("registration:unit_register"), data)
    assert response.status_code == 302
    application = Application.objects.exclude(pk=taken.application_id).get()
    saved = [(t.row_number, t.name, t.is_duplicate) for t in application.trainees.order_by("row_number")]
    assert saved == [(1, rows[0]["name"], False), (2, rows[2]["name"], True)]
    assert application.trainees.get(row_number=2).duplicate_of == taken


def test_empty_roster_is_refused(client, programme):
    response = client.post(reverse("registration:unit_register"), unit_post([]))
    assert response.status_code == 200
    assert response.context["formset"].non_form_errors()
    assert Application.objects.count() == 0


def test_blank_rows_are_skipped(client, programme):
    rows = roster_rows(1) + [dict.fromkeys(roster_rows(1)[0], "")]
    response = client.post(reverse("registration:unit_register"), unit_post(rows))
    assert response.status_code == 302
    assert Trainee.objects.count() == 1


def test_add_rows_without_javascript_keeps_what_was_typed(client, programme):
    rows = roster_rows(2)
    response = client.post(reverse("registration:unit_register"), unit_post(rows, action="add_rows"))
    formset = response.context["formset"]
    assert len(formset.forms) == 2 + 5
    assert not formset.is_bound
    assert response.context["form"].initial["unit_name"] == applicant_data()["unit_name"]
    assert rows[1]["name"] in response.content.decode()
    assert Application.objects.count() == 0


# --- Excel import -----------------------------------------------------------------------------


def test_template_download_opens_with_the_roster_header(client, programme):
    response = client.get(reverse("registration:roster_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.content)).active
    values = [cell.value for row in ws.iter_rows(max_row=10) for cell in row if cell.value]
    for header in ("序号", "姓名", "身份证号码", "手机号码", "证书类型", "培训类别"):
        assert header in values
    assert any("原证书编号" in str(v) for v in values)


def test_excel_import_appends_rows_and_reports_bad_rows_by_number(client, programme):
    typed = roster_rows(1, start=900)
    good = roster_rows(2, start=10)
    workbook = xlsx(
        [
            [1, good[0]["name"], good[0]["id_number"], int(good[0]["mobile"]), "主要负责人", "初始培训"],
            [2, "坏行", "440106199001011234", good[1]["mobile"], "安全生产管理人员", "初始培训"],
            [
                3,
                good[1]["name"],
                good[1]["id_number"],
                "+86 " + mobile_make(77),
                "安全生产管理人员",
                "再培训",
                "GD-1",
            ],
        ],
        header_row=3,
        applicant={"单位名称：": "表格里的单位", "联系人：": "表格联系人"},
    )
    data = unit_post(typed, action="import", unit_name="", workbook=workbook)
    response = client.post(reverse("registration:unit_register"), data)
    assert response.status_code == 200
    assert Application.objects.count() == 0 and Trainee.objects.count() == 0
    formset = response.context["formset"]
    assert len(formset.forms) == 4  # the typed row + 3 from the workbook
    assert formset.forms[0]["name"].value() == typed[0]["name"]
    assert formset.forms[1]["mobile"].value() == good[0]["mobile"]
    assert formset.forms[3]["mobile"].value() == mobile_make(77)
    assert "id_number" in formset.forms[2].errors
    report = response.context["import_report"]
    assert report["added"] == 3
    assert any("第 5 行" in error for error in report["errors"])  # Excel row 5 = the bad one
    assert report["bad_rows"] == [{"excel_row": 5, "roster_row": 3}]
    form = response.context["form"]
    assert form.initial["unit_name"] == "表格里的单位"  # empty in the form: taken from the workbook
    assert form.initial["contact_name"] == applicant_data()["contact_name"]  # typed: kept


def test_excel_import_then_submit_registers_everyone(client, programme):
    rows = roster_rows(3, start=40)
    workbook = xlsx(
        [[n, r["name"], r["id_number"], r["mobile"], "主要负责人", "初始培训"] for n, r in enumerate(rows, 1)]
    )
    response = client.post(
        reverse("registration:unit_register"), unit_post([], action="import", workbook=workbook)
    )
    formset = response.context["formset"]
    assert not response.context["import_report"]["errors"]
    data = unit_post([])
    data.update(roster_form_data([{k: f[k].value() for k in rows[0]} for f in formset.forms]))
    response = client.post(reverse("registration:unit_register"), data)
    assert response.status_code == 302
    assert Trainee.objects.count() == 3


def test_import_of_a_non_excel_file_gives_a_clear_message(client, programme):
    fake = io.BytesIO(b"<html>not a workbook</html>")
    fake.name = "roster.xlsx"
    response = client.post(
        reverse("registration:unit_register"), unit_post(roster_rows(1), action="import", workbook=fake)
    )
    assert response.status_code == 200
    errors = response.context["import_report"]["errors"]
    assert errors and "xlsx" in errors[0]
    assert len(response.context["formset"].forms) == 1  # the typed row is kept
    assert Application.objects.count() == 0


def test_import_without_a_file_asks_for_one(client, programme):
    response = client.post(reverse("registration:unit_register"), unit_post([], action="import"))
    assert response.context["import_report"]["errors"]


# --- Individual registration -------------------------------------------------------------------


def individual_post(**overrides) -> dict:
    data = {
        "name": "张个人",
        "id_number": id_number_make(321),
        "mobile": mobile_make(321),
        "email": "me@example.org",
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


def test_individual_registers_alone_and_gets_the_links_by_sms(
    client, programme, sms_outbox, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("registration:individual_register"), individual_post())
    assert response.status_code == 302
    assert response["Location"] == reverse("registration:individual_sent")
    application = Application.objects.get()
    assert application.kind == "individual"
    assert application.unit_name == "张个人" and application.invoice_title == "张个人"
    assert application.contact_phone == mobile_make(321) and application.invoice_email == "me@example.org"
    trainee = application.trainees.get()
    assert trainee.name == "张个人" and trainee.certificate_type == "safety_manager"
    sent = client.get(response["Location"])
    assert f"{mobile_make(321)[:3]}****{mobile_make(321)[-4:]}" in sent.content.decode()
    assert sent["Cache-Control"].startswith("private")
    # The private links go to the mobile number only (the page above shows none of them).
    application_url = reverse("registration:application_detail", args=[application.access_key])
    form_url = reverse("registration:attachment2", args=[trainee.access_key])
    assert {s.mobile for s in sms_outbox} == {mobile_make(321)}
    assert any(application_url in s.message for s in sms_outbox)
    assert any(form_url in s.message for s in sms_outbox)
    assert (
        application.access_key not in sent.content.decode()
        and trainee.access_key not in sent.content.decode()
    )
    assert mailoutbox == []
    assert "800.00" in client.get(application_url).content.decode()


def test_individual_errors_are_named_per_field(
    client, programme, sms_outbox, django_capture_on_commit_callbacks
):
    taken = TraineeFactory(application__programme=programme, mobile=mobile_make(321))
    response = client.post(
        reverse("registration:individual_register"),
        individual_post(industry="B", training_category="refresher"),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"industry"}  # not the taken mobile number
    assert not Application.objects.filter(kind="individual").exists()
    # The mobile number taken in this programme: not said on the page, told to its holder.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("registration:individual_register"), individual_post())
    assert response.status_code == 302 and response["Location"] == reverse("registration:individual_sent")
    assert not Application.objects.filter(kind="individual").exists()
    assert [s.mobile for s in sms_outbox] == [taken.mobile]
    assert "已被本培训项目的一项报名使用" in sms_outbox[0].message


# --- The application page ----------------------------------------------------------------------


def _application_with(count, programme):
    first = TraineeFactory(application__programme=programme)
    for _ in range(count - 1):
        TraineeFactory(application=first.application, programme=programme)
    return first.application


def _with_payments(application):
    """Approve every other trainee; one payment reported, one confirmed (payments' own services)."""
    from payments.services.payments import payment_confirm, payment_report
    from portal.roles import FINANCE

    trainees = list(application.trainees.order_by("row_number"))
    approved = trainees[::2]
    Trainee.objects.filter(pk__in=[t.pk for t in approved]).update(status=TraineeStatus.APPROVED)
    for number, chosen in enumerate([approved[:1], approved[1:2]]):
        payment = payment_report(
            application=application,
            channel="bank_transfer",
            payer_name=application.unit_name,
            payer_mobile="13800138000",
            amount_fen=80_000,
            transaction_no=f"{application.reference}-{number}",
            paid_at=timezone.now(),
            trainees=list(Trainee.objects.filter(pk__in=[t.pk for t in chosen])),
            invoice_buyer_name=application.invoice_title,
            invoice_tax_id=application.invoice_tax_id,
            invoice_email=application.invoice_email,
        )
        if number:
            payment_confirm(payment=payment, actor=StaffFactory(role=FINANCE))
    return approved


def test_application_page_query_count_does_not_grow_with_trainees(client, programme):
    small = _application_with(3, programme)
    large = _application_with(30, programme)
    for application in (small, large):
        _with_payments(application)
    counts = []
    for application in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("registration:application_detail", args=[application.access_key]))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_application_page_is_within_a_query_budget(client, programme, django_assert_max_num_queries):
    application = _application_with(10, programme)
    _with_payments(application)
    with django_assert_max_num_queries(5):
        client.get(reverse("registration:application_detail", args=[application.access_key]))


def _money(html) -> dict:
    import re

    return {
        name: re.search(rf'data-testid="{name}-total">¥([\d,.]+)<', html).group(1)
        for name in ("paid", "pending", "outstanding")
    }


def test_application_page_money_follows_review_and_payments(client, programme):
    application = _application_with(4, programme)
    url = reverse("registration:application_detail", args=[application.access_key])
    first, second, third, fourth = application.trainees.order_by("row_number")
    pay_url = reverse("payments:application_pay", args=[application.access_key])

    html = client.get(url).content.decode()  # before review: nothing due yet
    assert _money(html) == {"paid": "0.00", "pending": "0.00", "outstanding": "0.00"}
    assert "4 名学员正在审核中，审核通过后应缴 ¥3,200.00。" in html
    assert html.count("审核通过后缴纳 ¥800.00") == 4
    assert pay_url not in html  # nothing to pay yet

    Trainee.objects.filter(pk__in=[first.pk, second.pk, third.pk]).update(status=TraineeStatus.APPROVED)
    trainee_return(trainee=fourth, reviewer=StaffFactory(role=REVIEWER), reason="照片不清晰")
    html = client.get(url).content.decode()
    assert _money(html) == {"paid": "0.00", "pending": "0.00", "outstanding": "2,400.00"}
    assert '<a class="btn btn-primary mt-2" href="' + pay_url + '">缴纳培训费</a>' in html

    _with_payments(application)  # approves 1 and 3 again; 1 reported, 3 confirmed
    html = client.get(url).content.decode()
    assert _money(html) == {"paid": "800.00", "pending": "800.00", "outstanding": "800.00"}
    assert '<dd class="mb-0 fs-5 text-warning-emphasis" data-testid="pending-total">' in html
    assert '<li class="text-warning-emphasis">待确认 ¥800.00</li>' in html
    assert '<li class="text-success">已缴 ¥800.00</li>' in html
    assert '<li class="text-danger fw-semibold">尚需 ¥800.00</li>' in html  # the second
    assert "审核通过后缴纳 ¥800.00" in html  # the returned one

    Trainee.objects.filter(pk=second.pk).update(status=TraineeStatus.WITHDRAWN)
    html = client.get(url).content.decode()
    assert _money(html)["outstanding"] == "0.00"
    assert '<dd class="mb-0 fs-5" data-testid="outstanding-total">¥0.00</dd>' in html  # not red
    assert '<a class="btn btn-outline-primary mt-2" href="' + pay_url + '">查看缴费记录</a>' in html
    assert "无需缴费" in html  # the withdrawn one
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(url).content.decode()
    assert ">Paid</dt>" in html and ">Awaiting confirmation</dt>" in html and ">Still due</dt>" in html
    assert "1 trainee is under review: ¥800.00 is due after approval." in html


def test_application_page_shows_status_reason_and_attachment2_links(client, programme):
    application = _application_with(2, programme)
    first, second = application.trainees.order_by("row_number")
    Trainee.objects.filter(pk=first.pk).update(status=TraineeStatus.RETURNED, status_reason="照片不清晰")
    html = client.get(
        reverse("registration:application_detail", args=[application.access_key])
    ).content.decode()
    assert "照片不清晰" in html
    assert reverse("registration:attachment2", args=[first.access_key]) in html
    assert reverse("registration:attachment2", args=[second.access_key]) in html


def test_application_page_after_the_retention_purge(client, programme):
    from registration.services.retention import applications_purge_contact_data, trainees_purge_personal_data

    application = _application_with(2, programme)
    ids = list(application.trainees.values_list("pk", flat=True))
    trainees_purge_personal_data(trainee_ids=ids, reason="retention")
    assert applications_purge_contact_data(trainee_ids=ids, reason="retention") == [application.pk]
    html = client.get(
        reverse("registration:application_detail", args=[application.access_key])
    ).content.decode()
    assert 'id="purged-notice"' in html and "删除" in html
    assert application.contact_phone not in html and application.mail_address not in html
    assert application.unit_name in html and application.invoice_title in html


def test_unknown_application_key_is_404(client, programme):
    assert client.get(reverse("registration:application_detail", args=["nope"])).status_code == 404


def test_withdraw_a_trainee_before_approval(client, programme):
    application = _application_with(2, programme)
    first, second = application.trainees.order_by("row_number")
    url = reverse("registration:trainee_withdraw", args=[application.access_key, first.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    first.refresh_from_db()
    assert first.status == TraineeStatus.WITHDRAWN
    assert "800.00" in response.content.decode()  # only the second one is due now


def test_withdraw_refused_after_approval_and_for_another_application(client, programme):
    application = _application_with(1, programme)
    trainee = application.trainees.get()
    Trainee.objects.filter(pk=trainee.pk).update(status=TraineeStatus.APPROVED)
    response = client.post(
        reverse("registration:trainee_withdraw", args=[application.access_key, trainee.pk]), follow=True
    )
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.APPROVED
    assert list(response.context["messages"])
    other = _application_with(1, programme)
    response = client.post(reverse("registration:trainee_withdraw", args=[other.access_key, trainee.pk]))
    assert response.status_code == 404


# --- Attachment 2 --------------------------------------------------------------------------------


def attachment2_post(trainee, **overrides) -> dict:
    data = {
        "education": "bachelor",
        "safety_years": "6",
        "work_unit": "广州示例贸易有限公司",
        "work_unit_address": "广州市天河区示例大道 100 号",
        "mailing_address": "广州市天河区示例大道 100 号",
        "landline": "020-83331234",
        "email": "",
        "work_history": "2015-2025 广州示例贸易有限公司 安全主任",
        "declaration_name": trainee.name,
        "photo": upload("photo.png", content=image_bytes(354, 496, fmt="PNG"), content_type="image/png"),
        "id_front": upload("front.jpg", content=image_bytes(856, 540)),
        "id_back": upload("back.jpg", content=image_bytes(856, 540)),
        **ATTACHMENT2_CONSENTS_POST,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_attachment2_shows_gender_and_birth_date_from_the_id_number(client, programme):
    import datetime

    trainee = TraineeFactory(
        programme=programme,
        id_number=id_number_make(5, birth=datetime.date(1985, 6, 7), male=False),
        gender="F",
        birth_date=datetime.date(1985, 6, 7),
    )
    response = client.get(reverse("registration:attachment2", args=[trainee.access_key]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "1985-06-07" in html and "女" in html
    assert trainee.mobile in html
    assert html.count('accept="image/*"') == 3  # camera and gallery in every browser, WeChat's included
    assert response["Cache-Control"].startswith("private")


def test_attachment2_submit_with_real_images(client, programme):
    trainee = TraineeFactory(application__programme=programme)
    response = client.post(
        reverse("registration:attachment2", args=[trainee.access_key]), attachment2_post(trainee)
    )
    assert response.status_code == 302
    trainee.refresh_from_db()
    assert trainee.attachment2_complete
    assert trainee.status == TraineeStatus.SUBMITTED
    assert trainee.declared_ip == "127.0.0.1"
    assert trainee.photo.name.endswith(".jpg")
    html = client.get(response["Location"]).content.decode()
    assert reverse("registration:trainee_document", args=[trainee.access_key, "photo"]) in html
    assert "/media/" not in html


def test_png_named_html_is_refused_with_a_message(client, programme):
    trainee = TraineeFactory(application__programme=programme)
    fake = upload("photo.png", content=b"<html><script>alert(1)</script></html>", content_type="image/png")
    response = client.post(
        reverse("registration:attachment2", args=[trainee.access_key]), attachment2_post(trainee, photo=fake)
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "photo" in form.errors
    assert "JPEG" in form.errors["photo"][0]
    trainee.refresh_from_db()
    assert not trainee.photo and trainee.id_front and trainee.declared_at is None  # the good ones kept


def test_attachment2_field_errors_are_named(client, programme):
    trainee = TraineeFactory(application__programme=programme)
    response = client.post(
        reverse("registration:attachment2", args=[trainee.access_key]),
        attachment2_post(trainee, education="", declaration_name="别人", photo=None),
    )
    form = response.context["form"]
    assert {"education", "declaration_name", "photo"} <= set(form.errors)
    summary = " ".join(error["text"] for error in response.context["error_summary"])
    assert "学历" in summary and "证件照" in summary


def test_returned_registration_is_corrected_and_goes_back_to_review(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    reviewer = StaffFactory(role=REVIEWER)
    trainee_return(trainee=trainee, reviewer=reviewer, reason="照片不是白底证件照，请重新上传")
    page = client.get(reverse("registration:attachment2", args=[trainee.access_key])).content.decode()
    assert "照片不是白底证件照" in page and 'id="returned-reason"' in page
    response = client.post(
        reverse("registration:attachment2", args=[trainee.access_key]),
        attachment2_post(trainee, id_front=None, id_back=None),
    )
    assert response.status_code == 302
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED


def test_approved_registration_can_no_longer_be_changed(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme, status=TraineeStatus.APPROVED)
    html = client.get(reverse("registration:attachment2", args=[trainee.access_key])).content.decode()
    assert 'type="file"' not in html
    response = client.post(
        reverse("registration:attachment2", args=[trainee.access_key]),
        attachment2_post(trainee, work_unit="改"),
    )
    assert response.status_code == 302
    trainee.refresh_from_db()
    assert trainee.work_unit != "改"


# --- Protected documents ----------------------------------------------------------------------------


def test_trainee_sees_own_documents_through_the_link(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    response = client.get(reverse("registration:trainee_document", args=[trainee.access_key, "photo"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8")


def test_another_trainees_key_unknown_kind_and_missing_file_are_404(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    other = TraineeFactory(application__programme=programme)  # no documents
    url = reverse("registration:trainee_document", args=[other.access_key, "photo"])
    assert client.get(url).status_code == 404
    assert client.get(reverse("registration:trainee_document", args=["nope", "photo"])).status_code == 404
    bad_kind = reverse("registration:trainee_document", args=[trainee.access_key, "work_history"])
    assert client.get(bad_kind).status_code == 404
    trainee.photo.storage.delete(trainee.photo.name)
    url = reverse("registration:trainee_document", args=[trainee.access_key, "photo"])
    assert client.get(url).status_code == 404


def test_staff_document_permissions(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    url = reverse("registration:staff_document", args=[trainee.pk, "id_front"])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and reverse("admin:login") in anonymous["Location"]
    client.force_login(UserFactory())  # not staff
    assert client.get(url).status_code == 403
    client.force_login(StaffFactory())  # staff without the permission
    assert client.get(url).status_code == 403
    client.force_login(StaffFactory(role=REVIEWER))
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert client.get(reverse("registration:staff_document", args=[trainee.pk, "nope"])).status_code == 404


def test_staff_with_the_permission_but_no_role_is_allowed(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_trainee"))
    client.force_login(staff)
    assert client.get(reverse("registration:staff_document", args=[trainee.pk, "photo"])).status_code == 200


# --- Printable attachment 2 ---------------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "".join(page.extract_text() for page in reader.pages)


def test_print_pdf_through_the_trainee_link(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme, name="王小明")
    response = client.get(reverse("registration:attachment2_print", args=[trainee.access_key]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Cache-Control"] == "private, no-store"
    assert "王小明" in _pdf_text(response.content)


def test_staff_print_needs_the_permission(client, programme):
    trainee = CompleteTraineeFactory(application__programme=programme)
    url = reverse("registration:staff_attachment2_print", args=[trainee.pk])
    assert client.get(url).status_code == 302
    client.force_login(StaffFactory())
    assert client.get(url).status_code == 403
    client.force_login(StaffFactory(role=REVIEWER))
    response = client.get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_documents_are_not_in_the_public_media_root(programme, settings):
    trainee = CompleteTraineeFactory(
        application__programme=programme, photo=ContentFile(image_bytes(), name="p.jpg")
    )
    path = trainee.photo.path
    assert str(settings.PRIVATE_MEDIA_ROOT) in path
    assert str(settings.MEDIA_ROOT) not in path
