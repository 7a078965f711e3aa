import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from payments.models import LineStatus, Payment, PaymentSource, PaymentStatus, Statement, StatementLine
from payments.reconciliation import parse_amount_fen, parse_statement
from payments.services.payments import payment_confirm
from payments.services.statements import (
    statement_confirm_matches,
    statement_import,
    statement_line_ignore,
    statement_line_resolve,
)
from tests.factories import ApplicationFactory, ApprovedTraineeFactory, PaymentFactory

pytestmark = pytest.mark.django_db

HEADER = "交易日期,交易流水号,对方户名,摘要,借方金额,贷方金额\n"


@pytest.fixture
def outstanding():
    unit = ApplicationFactory(unit_name="示例机械有限公司", invoice_title="示例机械有限公司")
    people = {
        "zhang": ApprovedTraineeFactory(application=unit, name="张三"),
        "li": ApprovedTraineeFactory(application=unit, name="李四"),
        "wang": ApprovedTraineeFactory(name="王五", mobile="13712345678"),
        "chen1": ApprovedTraineeFactory(name="陈明"),
        "chen2": ApprovedTraineeFactory(name="陈明"),
        "zhao": ApprovedTraineeFactory(name="赵六", training_category="refresher"),
    }
    return people


def statement_csv(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode("utf-8")


def test_statement_with_matched_ambiguous_and_unmatched_lines(outstanding, finance_user):
    content = statement_csv(
        "2026-11-20 10:01:00,B001,示例机械有限公司,培训费 张三、李四,,1600.00",
        "2026-11-20 11:00:00,B002,王五,手机13712345678,,800.00",
        "2026-11-20 12:00:00,B003,某某公司,陈明培训费,,800.00",
        "2026-11-20 13:00:00,B004,无关贸易公司,货款,,5000.00",
        "2026-11-20 14:00:00,B005,赵六,赵六 再培训,,500.00",
        "2026-11-20 15:00:00,B006,电费,代扣电费,320.00,",
        "合计,,,,320.00,8700.00",
    )
    statement, created = statement_import(
        content=content, filename="建行流水.csv", source="bank", actor=finance_user
    )
    assert created
    lines = {line.serial: line for line in statement.lines.all()}
    assert statement.credit_lines == 5 and statement.skipped_lines == 2
    people = outstanding
    assert lines["B001"].status == LineStatus.MATCHED
    assert sorted(lines["B001"].candidate_ids) == sorted([people["zhang"].pk, people["li"].pk])
    assert lines["B002"].status == LineStatus.MATCHED
    assert lines["B002"].candidate_ids == [people["wang"].pk]
    assert lines["B003"].status == LineStatus.AMBIGUOUS  # two outstanding trainees named 陈明
    assert sorted(lines["B003"].candidate_ids) == sorted([people["chen1"].pk, people["chen2"].pk])
    assert lines["B004"].status == LineStatus.UNMATCHED
    assert lines["B005"].status == LineStatus.AMBIGUOUS  # 500 paid, 300 due
    assert lines["B005"].amount_fen == 50_000

    # Finance confirms every match in one step.
    confirmed, failures = statement_confirm_matches(statement=statement, actor=finance_user)
    assert (confirmed, failures) == (2, [])
    for key in ("zhang", "li", "wang"):
        people[key].refresh_from_db()
        assert people[key].paid_at is not None
    payment = Payment.objects.get(transaction_no="B001")
    assert payment.source == PaymentSource.STATEMENT and payment.status == PaymentStatus.CONFIRMED
    assert payment.invoice.buyer_name == "示例机械有限公司"
    assert payment.channel == "bank_transfer"

    # And resolves the rest by hand.
    statement_line_resolve(line=lines["B003"], trainees=[people["chen2"]], actor=finance_user)
    people["chen2"].refresh_from_db()
    people["chen1"].refresh_from_db()
    assert people["chen2"].paid_at is not None and people["chen1"].paid_at is None
    with pytest.raises(ValidationError):
        statement_line_resolve(line=lines["B005"], trainees=[people["zhao"]], actor=finance_user)
    statement_line_resolve(
        line=lines["B005"], trainees=[people["zhao"]], actor=finance_user, mismatch_reason="多付 200 元待退"
    )
    statement_line_ignore(line=lines["B004"], actor=finance_user, reason="货款，与培训无关")
    statuses = dict(StatementLine.objects.values_list("serial", "status"))
    assert statuses == {
        "B001": "confirmed",
        "B002": "confirmed",
        "B003": "confirmed",
        "B004": "ignored",
        "B005": "confirmed",
    }
    # Confirming again does nothing twice.
    assert statement_confirm_matches(statement=statement, actor=finance_user) == (0, [])


def test_same_statement_imported_twice_creates_nothing_twice(outstanding, finance_user):
    content = statement_csv("2026-11-20 10:01:00,B001,示例机械有限公司,张三 李四,,1600.00")
    first, created = statement_import(content=content, filename="a.csv", source="bank", actor=finance_user)
    again, created_again = statement_import(
        content=content, filename="a (1).csv", source="bank", actor=finance_user
    )
    assert created and not created_again and again.pk == first.pk
    assert Statement.objects.count() == 1 and StatementLine.objects.count() == 1
    # Another export overlapping the first one: the known serial is skipped.
    overlapping = statement_csv(
        "2026-11-20 10:01:00,B001,示例机械有限公司,张三 李四,,1600.00",
        "2026-11-21 09:00:00,B009,王五,王五,,800.00",
    )
    second, created = statement_import(
        content=overlapping, filename="b.csv", source="bank", actor=finance_user
    )
    assert created and second.credit_lines == 1 and second.skipped_lines == 1
    assert StatementLine.objects.filter(serial="B001").count() == 1


def test_lines_without_serial_are_fingerprinted(outstanding, finance_user):
    content = (
        "交易时间,付款人,附言,收入\n2026-11-20 10:00,王五,王五,800\n2026-11-20 10:00,王五,王五,800\n".encode(
            "gb18030"
        )
    )
    statement, _ = statement_import(content=content, filename="c.csv", source="bank", actor=finance_user)
    serials = list(statement.lines.values_list("serial", flat=True))
    assert len(serials) == 2 and len(set(serials)) == 2 and all(s.startswith("auto-") for s in serials)
    # The second identical credit cannot claim the same trainee.
    assert sorted(statement.lines.values_list("status", flat=True)) == ["ambiguous", "matched"]


def test_xlsx_platform_export_with_preface_rows(outstanding, finance_user):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["#支付宝交易记录明细查询"])
    sheet.append(["账号：[demo@example.org]"])
    sheet.append(["交易号", "交易创建时间", "交易对方", "商品名称", "金额（元）", "收/支"])
    sheet.append(
        ["2026112022001", dt.datetime(2026, 11, 20, 9, 30), "王五", "培训费 王五 13712345678", 800.0, "收入"]
    )
    sheet.append(["2026112022002", dt.datetime(2026, 11, 20, 9, 40), "王五", "提现", 800.0, "支出"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    statement, _ = statement_import(
        content=buffer.getvalue(), filename="alipay.xlsx", source="alipay", actor=finance_user
    )
    line = statement.lines.get()
    assert line.serial == "2026112022001" and line.status == LineStatus.MATCHED
    assert timezone.localtime(line.booked_at).hour == 9
    statement_confirm_matches(statement=statement, actor=finance_user)
    assert Payment.objects.get(transaction_no="2026112022001").channel == "alipay"


def test_line_with_reported_transaction_number_confirms_that_payment(outstanding, finance_user):
    wang = outstanding["wang"]
    reported = PaymentFactory(
        application=wang.application,
        transaction_no="420000999",
        amount_fen=80_000,
        trainees=[wang],
        channel="wechat",
    )
    from payments.models import Invoice

    Invoice.objects.create(payment=reported, buyer_name="王五", email="w@example.com")
    content = (
        "交易单号,交易时间,交易对方,备注,金额\n420000999,2026-11-20 10:00:00,微信用户,,800.00\n".encode()
    )
    statement, _ = statement_import(content=content, filename="wx.csv", source="wechat", actor=finance_user)
    line = statement.lines.get()
    assert line.status == LineStatus.MATCHED and line.reported_payment_id == reported.pk
    statement_confirm_matches(statement=statement, actor=finance_user)
    reported.refresh_from_db()
    wang.refresh_from_db()
    assert reported.status == PaymentStatus.CONFIRMED and wang.paid_at is not None
    assert Payment.objects.count() == 1


def test_unit_payer_without_names_matches_all_its_outstanding_trainees(outstanding, finance_user):
    content = statement_csv("2026-11-20 10:01:00,B100,示例机械有限公司,培训费,,1600.00")
    statement, _ = statement_import(content=content, filename="u.csv", source="bank", actor=finance_user)
    line = statement.lines.get()
    assert line.status == LineStatus.MATCHED
    assert sorted(line.candidate_ids) == sorted([outstanding["zhang"].pk, outstanding["li"].pk])


def test_bad_rows_are_reported_with_their_row_number():
    with pytest.raises(ValidationError) as excinfo:
        parse_statement(statement_csv("2026-13-45 10:00:00,X1,某人,备注,,800.00"))
    assert "第 2 行" in str(excinfo.value) and "2026-13-45" in str(excinfo.value)
    with pytest.raises(ValidationError):
        parse_statement(statement_csv("2026-11-20,X1,某人,备注,,八百"))
    with pytest.raises(ValidationError):
        parse_statement(b"name,value\nfoo,1\n")
    with pytest.raises(ValidationError):
        parse_statement(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


def test_amounts_are_decimal_not_float():
    assert parse_amount_fen("¥1,600.10") == 160_010
    assert parse_amount_fen(0.1 + 0.2) == 30
    assert parse_amount_fen("") is None


def test_line_of_a_payment_already_confirmed_by_hand_is_linked_not_doubled(outstanding, finance_user):
    from payments.models import Invoice

    wang = outstanding["wang"]
    reported = PaymentFactory(application=wang.application, transaction_no="WX-77", trainees=[wang])
    Invoice.objects.create(payment=reported, buyer_name="王五", email="w@example.com")
    content = "交易单号,交易时间,交易对方,备注,金额\nWX-77,2026-11-20 10:00:00,微信用户,,800.00\n".encode()
    statement, _ = statement_import(content=content, filename="wx.csv", source="wechat", actor=finance_user)
    payment_confirm(payment=reported, actor=finance_user)
    line = statement.lines.get()
    statement_line_resolve(line=line, trainees=[], actor=finance_user)
    line.refresh_from_db()
    assert line.status == LineStatus.CONFIRMED and line.payment_id == reported.pk
    assert Payment.objects.count() == 1
