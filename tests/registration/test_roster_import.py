import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from registration.models import Programme
from registration.roster_import import (
    HEADERS,
    TEMPLATE_ROSTER_ROWS,
    certificate_type_parse,
    roster_parse,
    roster_read,
    roster_template,
    training_category_parse,
)
from registration.validators import id_number_mask
from tests.factories import id_number_make, mobile_make, uscc_make


def save(wb) -> io.BytesIO:
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def filled_template(rows, **cells) -> io.BytesIO:
    """The downloadable template with ``rows`` written from its first roster line on."""
    wb = load_workbook(io.BytesIO(roster_template()))
    ws = wb["报名表"]
    for ref, value in cells.items():
        ws[ref] = value
    for offset, values in enumerate(rows):
        for col, value in enumerate(values, start=2):
            ws.cell(row=8 + offset, column=col, value=value)
    return save(wb)


def roster_sheet(
    rows, header=("序号", "姓名", "身份证号码", "手机号码", "证书类型", "培训类别", "原证书编号")
):
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for values in rows:
        ws.append(list(values))
    return save(wb)


# --- The template ---------------------------------------------------------------------------


def test_template_has_the_layout_of_attachment_1():
    wb = load_workbook(io.BytesIO(roster_template()))
    ws = wb["报名表"]
    assert "线上培训报名表" in ws["A1"].value
    assert [ws.cell(row=7, column=c).value for c in range(1, len(HEADERS) + 1)] == HEADERS
    labels = {str(cell.value) for row in ws.iter_rows() for cell in row if cell.value}
    for label in (
        "单位名称：",
        "联系人：",
        "联系电话：",
        "收件人：",
        "收件人电话：",
        "地址：",
        "开票单位全称：",
    ):
        assert label in labels
    assert any("纳税人识别号" in label for label in labels)
    assert any("电子邮箱（用于发送电子发票）" in label for label in labels)
    assert ws.cell(row=8 + TEMPLATE_ROSTER_ROWS - 1, column=1).value == TEMPLATE_ROSTER_ROWS


def test_template_has_dropdowns_for_certificate_type_and_category():
    wb = load_workbook(io.BytesIO(roster_template()))
    ws = wb["报名表"]
    ranges = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert any(ref.startswith("F8") for ref in ranges) and any(ref.startswith("G8") for ref in ranges)
    lists = wb["选项"]
    assert lists.sheet_state == "hidden"
    assert [lists["A1"].value, lists["A2"].value] == ["主要负责人", "安全生产管理人员"]
    assert [lists["B1"].value, lists["B2"].value] == ["初始培训", "再培训"]
    assert ws["C8"].number_format == "@"  # ID numbers stay text


def test_blank_template_reads_as_an_empty_roster():
    applicant, rows, errors = roster_parse(io.BytesIO(roster_template()))
    assert rows == [] and applicant == {}
    assert errors == ["表格中的名单是空的。"]


# --- Reading ---------------------------------------------------------------------------------


def test_filled_template_gives_the_unit_and_the_roster():
    tax_id = uscc_make(3)
    workbook = filled_template(
        [
            ["张三", id_number_make(1), mobile_make(1), "", "主要负责人", "初始培训"],
            [
                "李四",
                id_number_make(2),
                mobile_make(2),
                "li@example.org",
                "安全生产管理人员",
                "再培训",
                "GD2023-9",
            ],
        ],
        C2="广州示例有限公司",
        G2="F 批发和零售业",
        C3="王联系",
        E3="020-83331234",
        D4="王收件",
        F4="13700001234",
        D5="广州市越秀区示例路 1 号",
        E108="广州示例有限公司",
        E109=tax_id,
        E110="inv@example.org",
    )
    applicant, rows, errors = roster_parse(workbook)
    assert errors == []
    assert applicant == {
        "unit_name": "广州示例有限公司",
        "industry": "F",
        "contact_name": "王联系",
        "contact_phone": "020-83331234",
        "mail_recipient": "王收件",
        "mail_phone": "13700001234",
        "mail_address": "广州市越秀区示例路 1 号",
        "invoice_title": "广州示例有限公司",
        "invoice_tax_id": tax_id,
        "invoice_email": "inv@example.org",
    }
    assert rows == [
        {
            "name": "张三",
            "id_number": id_number_make(1),
            "mobile": mobile_make(1),
            "email": "",
            "certificate_type": "principal",
            "training_category": "initial",
            "previous_certificate_no": "",
        },
        {
            "name": "李四",
            "id_number": id_number_make(2),
            "mobile": mobile_make(2),
            "email": "li@example.org",
            "certificate_type": "safety_manager",
            "training_category": "refresher",
            "previous_certificate_no": "GD2023-9",
        },
    ]


def test_rows_inserted_into_the_template_and_the_invoice_block_below_are_read():
    wb = load_workbook(io.BytesIO(roster_template()))
    ws = wb["报名表"]
    ws.insert_rows(20, amount=150)  # a big unit inserts lines inside the roster
    for n in range(120):
        ws.cell(row=8 + n, column=2, value=f"学员{n}")
        ws.cell(row=8 + n, column=3, value=id_number_make(n))
        ws.cell(row=8 + n, column=4, value=mobile_make(n))
        ws.cell(row=8 + n, column=6, value="安全生产管理人员")
        ws.cell(row=8 + n, column=7, value="初始培训")
    ws.cell(row=108 + 150, column=5, value="开票单位有限公司")
    applicant, rows, errors = roster_parse(save(wb))
    assert errors == []
    assert len(rows) == 120
    assert applicant["invoice_title"] == "开票单位有限公司"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("主要负责人", "principal"),
        (" “主要负责人” ", "principal"),
        ("安全生产管理人员", "safety_manager"),
        ("安全管理人员", "safety_manager"),
        ("principal", "principal"),
        ("Safety production manager", "safety_manager"),
        ("老板", ""),
    ],
)
def test_certificate_labels(text, code):
    assert certificate_type_parse(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("初始培训", "initial"),
        ("初次培训", "initial"),
        ("再培训", "refresher"),
        ("复训", "refresher"),
        ("x", ""),
    ],
)
def test_category_labels(text, code):
    assert training_category_parse(text) == code


def test_numeric_ids_and_mobiles_with_prefixes():
    legacy18 = id_number_make(8, birth=__import__("datetime").date(1965, 3, 4))
    legacy15 = legacy18[:6] + legacy18[8:17]
    workbook = roster_sheet(
        [
            [1, "甲", int(legacy15), 13700000001, "主要负责人", "初始培训"],
            [2, "乙", id_number_make(9), "+86 137-0000-0002", "主要负责人", "初始培训"],
            [3, "丙", id_number_make(10).lower(), "0086 13700000003", "主要负责人", "初始培训"],
        ]
    )
    _applicant, rows, errors = roster_parse(workbook)
    assert errors == []
    assert rows[0]["id_number"] == legacy18
    assert [r["mobile"] for r in rows] == ["13700000001", "13700000002", "13700000003"]


def test_id_number_that_lost_its_digits_as_a_float_is_explained():
    number = id_number_make(12)
    workbook = roster_sheet([[1, "丁", float(number), mobile_make(12), "主要负责人", "初始培训"]])
    result = roster_read(workbook)
    assert len(result.errors) == 1
    assert "第 2 行" in result.errors[0] and "文本" in result.errors[0]


def test_bad_rows_are_reported_by_excel_row_number():
    workbook = roster_sheet(
        [
            [1, "好", id_number_make(20), mobile_make(20), "主要负责人", "初始培训"],
            [2, "", id_number_make(21), mobile_make(21), "主要负责人", "初始培训"],
            [3, "坏号", "440106199001011230", mobile_make(22), "主要负责人", "初始培训"],
            [],
            [5, "坏手机", id_number_make(23), "1234", "老板", "再培训"],
            [6, "重复", id_number_make(20), mobile_make(24), "主要负责人", "初始培训"],
        ]
    )
    result = roster_read(workbook, programme=Programme(previous_certificate_required=True))
    assert result.excel_rows == [2, 3, 4, 6, 7]
    assert result.valid == [False, False, False, False, False]  # rows 2 and 7 are the same person
    text = "\n".join(result.errors)
    assert "第 3 行：姓名" in text
    assert "第 4 行：身份证号码" in text
    for fragment in ("第 6 行：手机号码", "“老板”", "第 6 行：原证书编号"):
        assert fragment in text
    masked = id_number_mask(id_number_make(20))
    assert f"第 2 行：身份证号码：同一人（身份证号码 {masked}）也出现在第 7 行。" in result.errors
    assert f"第 7 行：身份证号码：同一人（身份证号码 {masked}）也出现在第 2 行。" in result.errors
    assert "第 5 行" not in text  # the empty line is skipped
    assert len(result.rows) == 5  # bad rows are kept (as typed) so they can be corrected in the page
    assert result.rows[2]["id_number"] == "440106199001011230"


def test_duplicate_mobile_in_the_file():
    workbook = roster_sheet(
        [
            [1, "甲", id_number_make(30), mobile_make(30), "主要负责人", "初始培训"],
            [2, "乙", id_number_make(31), mobile_make(30), "主要负责人", "初始培训"],
        ]
    )
    _a, _rows, errors = roster_parse(workbook)
    mobile = mobile_make(30)
    assert errors == [
        f"第 2 行：手机号码（学员本人）：手机号码 {mobile} 也填写在第 3 行：一人一号（须为学员本人的手机号码）。",
        f"第 3 行：手机号码（学员本人）：手机号码 {mobile} 也填写在第 2 行：一人一号（须为学员本人的手机号码）。",
    ]


def test_header_row_may_be_anywhere_and_columns_in_any_order():
    wb = Workbook()
    ws = wb.active
    ws.append(["单位名称", "随便公司"])
    ws.append([])
    ws.append(["培训类别", "手机号", "姓名", "身份证号", "证书类型"])
    ws.append(["再培训", mobile_make(40), "戊", id_number_make(40), "主要负责人"])
    applicant, rows, errors = roster_parse(save(wb))
    assert applicant == {"unit_name": "随便公司"}
    assert rows[0]["name"] == "戊" and rows[0]["training_category"] == "refresher"
    assert errors == []  # a refresher's previous certificate number is asked for, not required
    strict = roster_read(save(wb), programme=Programme(previous_certificate_required=True))
    assert len(strict.errors) == 1 and "原证书编号" in strict.errors[0]  # where the programme says so


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"name,id\n1,2\n",
        b"<html><body>not excel</body></html>",
        b"PK\x03\x04 truncated zip",
    ],
)
def test_corrupt_or_non_xlsx_files_give_one_clear_error(content):
    applicant, rows, errors = roster_parse(io.BytesIO(content))
    assert applicant == {} and rows == []
    assert len(errors) == 1 and ".xlsx" in errors[0]


def test_old_xls_file_is_explained():
    _a, _r, errors = roster_parse(io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100))
    assert "97-2003" in errors[0]


def test_zip_that_is_not_a_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    out.seek(0)
    _a, _r, errors = roster_parse(out)
    assert len(errors) == 1


def test_zip_bomb_is_refused_before_inflating():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (70 * 1024 * 1024))
    out.seek(0)
    _a, _r, errors = roster_parse(out)
    assert len(errors) == 1


def test_sheet_without_a_roster_header():
    wb = Workbook()
    wb.active.append(["随便", "写点"])
    _a, rows, errors = roster_parse(save(wb))
    assert rows == [] and "姓名" in errors[0]
