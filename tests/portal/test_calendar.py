"""The working-day calendar's official data (issue #17 point 3): the import (all or nothing), the
warnings while next year has none (dashboard, admin, ``check --deploy``), and the provisional
deadlines recomputed once the year is imported."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from certificates.models import Certificate
from certificates.services.issue import certificates_issue
from payments.models import Invoice
from payments.services.payments import payment_confirm
from portal.models import AuditEntry, CalendarYear, Holiday
from portal.roles import FINANCE
from portal.workday_calendar import (
    calendar_file_parse,
    calendar_warnings,
    calendar_year_import,
    calendar_years_missing,
    check_calendar_next_year,
)
from tests.factories import (
    ApprovedTraineeFactory,
    HolidayFactory,
    PaymentFactory,
    StaffFactory,
    passed_enrollment_make,
)

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# A 2027 arrangement for the tests (not the State Council's: it is not published yet).
ARRANGEMENT_2027 = (
    "# 2027年放假安排\n"
    "2027-01-01,holiday,元旦\n"
    "2027-01-04,休,元旦调休\n"
    "2027-01-09,workday,调休上班\n"
    "\n"
    "2027-02-06,holiday,春节\n"
)
WARNING_2027 = (
    "工作日日历尚无 2027 年的官方数据：请导入该年的法定节假日和调休上班日（节假日和调休上班日 › 导入）。"
    "在此之前，计入 2027 年的期限均为临时期限。"
)


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


# -- the file ------------------------------------------------------------------------------------


def test_file_parsed_with_comments_blank_lines_chinese_kinds_and_names():
    year, days = calendar_file_parse(content=ARRANGEMENT_2027.encode())
    assert year == 2027
    assert [(d.date.isoformat(), d.is_workday, d.name) for d in days] == [
        ("2027-01-01", False, "元旦"),
        ("2027-01-04", False, "元旦调休"),
        ("2027-01-09", True, "调休上班"),
        ("2027-02-06", False, "春节"),
    ]
    # GBK files (Excel on Chinese Windows) are read too.
    assert calendar_file_parse(content=ARRANGEMENT_2027.encode("gbk"))[1] == days


def test_every_bad_line_is_listed_in_chinese():
    content = (
        "2027-01-01,holiday\n2027-13-01,holiday\n2027-01-02,rest\n2027-01-01,workday\n2028-06-01,holiday\n"
    )
    with pytest.raises(ValidationError) as caught:
        calendar_file_parse(content=content.encode())
    assert caught.value.messages == [
        "第 2 行：“2027-13-01”不是有效日期（格式为 YYYY-MM-DD）。",
        "第 3 行：类型应为“holiday”或“workday”（或“休”/“班”），不能是“rest”。",
        "第 4 行：2027-01-01 已在第 1 行出现。",
        "第 5 行：2028-06-01 不在 2027 年内（也不在相邻的十二月或一月）。",
    ]
    with pytest.raises(ValidationError) as caught:
        calendar_file_parse(content=b"# nothing\n\n")
    assert caught.value.messages == ["日历文件中没有任何日期。"]


def test_neighbouring_december_is_allowed_in_the_arrangement():
    year, days = calendar_file_parse(content=b"2026-12-31,holiday\n2027-01-01,holiday\n2027-01-02,holiday\n")
    assert year == 2027 and len(days) == 3


# -- the import ----------------------------------------------------------------------------------


def test_import_replaces_the_years_rows_marks_it_official_and_audits():
    finance = StaffFactory(role=FINANCE)
    HolidayFactory(date=dt.date(2027, 5, 3), name="猜测的劳动节")  # entered by hand before: not in the file
    HolidayFactory(date=dt.date(2027, 1, 1), name="旧名称", is_workday=True)
    HolidayFactory(date=dt.date(2026, 10, 8), name="别的年份")  # another year: untouched
    result = calendar_year_import(content=ARRANGEMENT_2027.encode(), actor=finance)
    assert (result.year, result.holidays, result.workdays, result.removed) == (2027, 3, 1, 1)
    assert sorted(Holiday.objects.values_list("date", "is_workday", "name")) == [
        (dt.date(2026, 10, 8), False, "别的年份"),
        (dt.date(2027, 1, 1), False, "元旦"),
        (dt.date(2027, 1, 4), False, "元旦调休"),
        (dt.date(2027, 1, 9), True, "调休上班"),
        (dt.date(2027, 2, 6), False, "春节"),
    ]
    year = CalendarYear.objects.get(year=2027)
    assert year.official and year.imported_by == finance and year.imported_at is not None
    entry = AuditEntry.objects.get(action="calendar.imported")
    assert entry.actor == finance and entry.target_id == str(year.pk)
    assert entry.new_value == {"official": True, "holidays": 3, "workdays": 1, "removed": 1}


def test_bad_file_imports_nothing():
    HolidayFactory(date=dt.date(2027, 5, 3), name="手工录入")
    with pytest.raises(ValidationError):
        calendar_year_import(content=(ARRANGEMENT_2027 + "2027-02-30,holiday\n").encode(), actor=None)
    assert list(Holiday.objects.values_list("name", flat=True)) == ["手工录入"]
    assert not CalendarYear.objects.exists()
    assert not AuditEntry.objects.filter(action="calendar.imported").exists()


def test_management_command(tmp_path):
    good = tmp_path / "2027.csv"
    good.write_text(ARRANGEMENT_2027, encoding="utf-8")
    out = io.StringIO()
    call_command("calendar_import", str(good), stdout=out)
    assert out.getvalue().strip() == (
        "2027: 3 holidays, 1 adjusted working days imported (0 old rows removed); the year is official."
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("2027-01-01,假期\n", encoding="utf-8")
    with pytest.raises(CommandError, match="第 1 行：类型应为"):
        call_command("calendar_import", str(bad))


# -- the warnings --------------------------------------------------------------------------------


def test_next_year_is_missing_from_1_november_until_imported():
    # chinesecalendar 1.11 knows 2026, not 2027.
    assert calendar_years_missing(today=dt.date(2026, 10, 31)) == []
    assert calendar_years_missing(today=dt.date(2026, 11, 1)) == [2027]
    assert calendar_warnings(today=dt.date(2026, 11, 1)) == [WARNING_2027]
    # In 2027 itself the year keeps being warned about; 2028 joins from 1 November.
    assert calendar_years_missing(today=dt.date(2027, 3, 1)) == [2027]
    # A year marked by hand without official data does not count.
    CalendarYear.objects.create(year=2027, official=False)
    assert calendar_years_missing(today=dt.date(2026, 11, 1)) == [2027]
    calendar_year_import(content=ARRANGEMENT_2027.encode(), actor=None)
    assert calendar_years_missing(today=dt.date(2026, 11, 1)) == []
    assert calendar_years_missing(today=dt.date(2027, 11, 1)) == [2028]


def test_deploy_check_warns_from_1_november(monkeypatch):
    # The browser tests' live server sets this for the whole process; check --deploy refuses it.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    assert check_calendar_next_year(today=dt.date(2026, 10, 31)) == []
    (warning,) = check_calendar_next_year(today=dt.date(2026, 11, 1))
    assert warning.id == "portal.W301" and "2027" in warning.msg
    with time_machine.travel(at("2026-11-02"), tick=False):
        err = io.StringIO()
        call_command("check", "--deploy", stdout=io.StringIO(), stderr=err)
        assert "portal.W301" in err.getvalue()
        calendar_year_import(content=ARRANGEMENT_2027.encode(), actor=None)
        err = io.StringIO()
        call_command("check", "--deploy", stdout=io.StringIO(), stderr=err)
        assert "portal.W301" not in err.getvalue()


def _page_warnings(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def test_staff_see_the_warning_on_the_dashboard_admin_home_and_holiday_list(client):
    finance = StaffFactory(role=FINANCE)
    client.force_login(finance)
    with time_machine.travel(at("2026-11-02"), tick=False):
        dashboard = client.get(reverse("admin:learning_pipelinedashboard_changelist"))
        assert WARNING_2027 in dashboard.content.decode()
        assert reverse("admin:portal_holiday_import") in dashboard.content.decode()
        home = client.get(reverse("admin:index"))
        assert WARNING_2027 in _page_warnings(home)
        holidays = client.get(reverse("admin:portal_holiday_changelist"))
        assert WARNING_2027 in _page_warnings(holidays)
        assert reverse("admin:portal_holiday_import") in holidays.content.decode()
        calendar_year_import(content=ARRANGEMENT_2027.encode(), actor=finance)
        assert (
            WARNING_2027
            not in client.get(reverse("admin:learning_pipelinedashboard_changelist")).content.decode()
        )
        assert _page_warnings(client.get(reverse("admin:index"))) == []
    with time_machine.travel(at("2026-10-30"), tick=False):
        CalendarYear.objects.all().delete()
        assert _page_warnings(client.get(reverse("admin:index"))) == []


def test_admin_upload_page(client):
    finance = StaffFactory(role=FINANCE)
    client.force_login(finance)
    url = reverse("admin:portal_holiday_import")
    assert client.get(url).status_code == 200
    bad = client.post(
        url, {"file": SimpleUploadedFile("2027.csv", b"2027-01-01,holiday\n2027-01-0x,holiday\n")}
    )
    assert bad.status_code == 200
    assert "第 2 行：“2027-01-0x”不是有效日期（格式为 YYYY-MM-DD）。" in bad.content.decode()
    assert not Holiday.objects.exists()
    good = client.post(url, {"file": SimpleUploadedFile("2027.csv", ARRANGEMENT_2027.encode())}, follow=True)
    assert (
        "2027 年日历已导入：节假日 3 天，调休上班日 1 天；该年已标记为官方数据，未完成事项的期限正在重新计算。"
        in _page_warnings(good)
    )
    assert CalendarYear.objects.get(year=2027).official
    # The reviewer has no say on the calendar.
    client.force_login(StaffFactory(role="reviewer"))
    assert client.get(url).status_code == 403


# -- provisional deadlines, recomputed after the import ------------------------------------------


def test_provisional_deadlines_are_recomputed_after_the_import(
    admin_client, django_capture_on_commit_callbacks
):
    finance = StaffFactory(role=FINANCE)
    trainee = ApprovedTraineeFactory()
    with time_machine.travel(at("2026-12-30"), tick=False):
        payment = PaymentFactory(
            application=trainee.application, trainees=[trainee], transaction_no="QR-2027"
        )
        invoice = Invoice.objects.create(payment=payment, buyer_name="示例公司", email="b@example.com")
        payment_confirm(payment=payment, actor=finance)
    # An invoice already issued keeps its (historic) deadline; only pending ones move.
    issued_trainee = ApprovedTraineeFactory()
    with time_machine.travel(at("2026-12-30"), tick=False):
        other = PaymentFactory(
            application=issued_trainee.application, trainees=[issued_trainee], transaction_no="QR-OLD"
        )
        issued = Invoice.objects.create(payment=other, buyer_name="已开公司", email="c@example.com")
        payment_confirm(payment=other, actor=finance)
    Invoice.objects.filter(pk=issued.pk).update(status="issued", number="INV-1")
    passed = at("2026-12-28", 15)
    with time_machine.travel(passed, tick=False):
        enrollment = passed_enrollment_make(passed_at=passed)
        (certificate,) = certificates_issue(enrollment_ids=[enrollment.pk]).issued
    invoice.refresh_from_db()
    # Without 2027 data, Monday-Friday. Invoice (paid Wednesday 30 December): 31, 1, 4, 5, 6.
    assert (invoice.due_on, invoice.deadline_provisional) == (dt.date(2027, 1, 6), True)
    # Certificate: 10 working days after Monday 28 December: 29, 30, 31, 1, 4, 5, 6, 7, 8, 11.
    assert (certificate.mail_due_on, certificate.deadline_provisional) == (dt.date(2027, 1, 11), True)

    # Admin marks them provisional.
    invoices_page = admin_client.get(
        reverse("admin:payments_invoice_changelist"), {"_all": "1"}
    ).content.decode()
    assert '2027-01-06 <em class="deadline-provisional">(临时)</em>' in invoices_page
    certificates_page = admin_client.get(
        reverse("admin:certificates_certificate_changelist")
    ).content.decode()
    assert '2027-01-11 <em class="deadline-provisional">(临时)</em>' in certificates_page

    with django_capture_on_commit_callbacks(execute=True):
        calendar_year_import(content=ARRANGEMENT_2027.encode(), actor=finance)

    invoice.refresh_from_db()
    certificate.refresh_from_db()
    # 2027: 1 and 4 January off, Saturday 9 January worked. Invoice: 31, 5, 6, 7, 8 January.
    assert (invoice.due_on, invoice.deadline_provisional) == (dt.date(2027, 1, 8), False)
    # Certificate: 29, 30, 31 December, 5, 6, 7, 8, 9 (Sat), 11, 12 January.
    assert (certificate.mail_due_on, certificate.deadline_provisional) == (dt.date(2027, 1, 12), False)
    moved = AuditEntry.objects.get(action="invoice.deadline_recomputed")
    assert moved.target_id == str(invoice.pk)
    assert moved.old_value == {"due_on": "2027-01-06", "provisional": True}
    assert moved.new_value == {"due_on": "2027-01-08", "provisional": False}
    assert moved.reason == "已按官方工作日日历重新计算。"
    mailing = AuditEntry.objects.get(action="certificate.mail_deadline_recomputed")
    assert mailing.target_id == str(certificate.pk)
    assert mailing.new_value == {"mail_due_on": "2027-01-12", "provisional": False}
    issued.refresh_from_db()
    assert issued.deadline_provisional is True  # issued: left alone
    assert Certificate.objects.filter(deadline_provisional=True).count() == 0
    assert (
        "deadline-provisional"
        not in admin_client.get(reverse("admin:certificates_certificate_changelist")).content.decode()
    )
