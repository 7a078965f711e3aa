"""portal/spreadsheets.py: formula-like text is written as text, uploaded workbooks are read safely.

The exports and uploads of each app are tested through their admin pages and views in
tests/security/test_spreadsheets.py; here the helpers themselves."""

import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from openpyxl import Workbook, load_workbook

from portal import spreadsheets
from portal.spreadsheets import (
    csv_writer,
    sheet_row_append,
    table_rows_read,
    workbook_rows_read,
)

from .spreadsheet_files import BROKEN_WORKBOOKS, CSV_LONG_FIELD, PAYLOADS, formulas_in, xlsx_bytes, zip_bomb

UNREADABLE = (
    "无法读取该文件：它已损坏或不是 Excel 工作簿（.xlsx）。请用 Excel 或 WPS 打开，"
    "另存为“Excel 工作簿（*.xlsx）”后重新上传。"
)
NOT_A_TABLE = "文件既不是 Excel 工作簿也不是 CSV 文件。"


def message(excinfo) -> str:
    return " ".join(excinfo.value.messages)


# --- out -------------------------------------------------------------------------------------------


def test_openpyxl_alone_would_store_the_text_as_a_formula():
    """Why the helper exists: without it, a name starting with "=" is a live formula."""
    book = Workbook()
    book.active.append(["=1+2"])
    out = io.BytesIO()
    book.save(out)
    assert formulas_in(out.getvalue())


def test_sheet_rows_keep_formula_like_text_as_text_and_numbers_as_numbers():
    book = Workbook()
    sheet = book.active
    when = datetime.date(2026, 11, 30)
    sheet_row_append(sheet, [*PAYLOADS, "张三", 7, Decimal("800.50"), -3.5, when])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    assert formulas_in(data) == []
    cells = list(load_workbook(io.BytesIO(data)).active.iter_rows())[0]
    texts = cells[: len(PAYLOADS)]
    assert [cell.value for cell in texts] == list(PAYLOADS)
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in texts)
    rest = cells[len(PAYLOADS) :]
    assert rest[0].value == "张三" and not rest[0].quotePrefix
    assert [(cell.value, cell.data_type) for cell in rest[1:4]] == [(7, "n"), (800.5, "n"), (-3.5, "n")]
    assert rest[4].value == datetime.datetime(2026, 11, 30) and rest[4].is_date


def test_csv_cells_get_a_leading_quote():
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([*PAYLOADS, "\r=1", "张三", 7, -3.5, ""])
    writer.writerows([["=A1"], ["ok"]])
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows[0] == [*(f"'{text}" for text in PAYLOADS), "'\r=1", "张三", "7", "-3.5", ""]
    assert rows[1:] == [["'=A1"], ["ok"]]


def test_no_app_writes_or_reads_spreadsheets_around_the_helpers():
    """Every export and import goes through portal/spreadsheets.py (and images through
    portal/uploads.py): a new csv.writer or load_workbook elsewhere fails this test."""
    root = Path(settings.BASE_DIR)
    allowed = {
        "csv.writer(": {"portal/spreadsheets.py"},
        "csv.reader(": {"portal/spreadsheets.py"},
        "load_workbook(": {"portal/spreadsheets.py"},
        # rendering.py re-opens stored photos that were checked and re-encoded on upload.
        "Image.open(": {"portal/uploads.py", "certificates/rendering.py"},
    }
    found = {needle: set() for needle in allowed}
    for app in ("portal", "registration", "payments", "learning", "exams", "certificates"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            for needle in allowed:
                if needle in text:
                    found[needle].add(str(path.relative_to(root)))
    assert {needle: files - allowed[needle] for needle, files in found.items()} == {
        needle: set() for needle in allowed
    }


# --- in --------------------------------------------------------------------------------------------


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_rows_of_a_workbook():
    data = xlsx_bytes([["姓名", "金额"], ["张三", 800], [None, "=1+2"]])
    assert workbook_rows_read(data, max_rows=10) == [["姓名", "金额"], ["张三", 800], []]


def test_rows_are_capped_one_past_the_limit_and_columns_at_the_limit():
    data = xlsx_bytes([[row, *range(30)] for row in range(1, 51)])
    rows = workbook_rows_read(data, max_rows=20, max_columns=5)
    assert len(rows) == 21 and rows[-1] == [21, 0, 1, 2, 3]


def test_the_first_visible_sheet_is_read():
    book = Workbook()
    book.active.append(["hidden"])
    book.active.sheet_state = "hidden"
    book.create_sheet("名单").append(["visible"])
    out = io.BytesIO()
    book.save(out)
    assert workbook_rows_read(out.getvalue(), max_rows=5) == [["visible"]]


@pytest.mark.parametrize("kind", sorted(BROKEN_WORKBOOKS))
def test_broken_workbooks_are_one_clear_message(kind):
    with pytest.raises(ValidationError) as excinfo:
        workbook_rows_read(BROKEN_WORKBOOKS[kind](), max_rows=100)
    assert message(excinfo) == UNREADABLE
    assert excinfo.value.code == "workbook_unreadable"


@pytest.mark.parametrize("content", [b"", b"name,id\n1,2\n", b"<html>not excel</html>"])
def test_what_is_not_a_zip_is_not_a_workbook(content):
    with pytest.raises(ValidationError) as excinfo:
        workbook_rows_read(content, max_rows=100)
    assert message(excinfo) == UNREADABLE


def test_zip_bomb_is_refused_before_openpyxl_inflates_it(monkeypatch):
    def never(*args, **kwargs):
        pytest.fail("openpyxl was given the zip bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(ValidationError) as excinfo:
        workbook_rows_read(zip_bomb(), max_rows=100)
    assert message(excinfo) == UNREADABLE


def test_old_xls_is_explained():
    with pytest.raises(ValidationError) as excinfo:
        workbook_rows_read(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, max_rows=100)
    assert message(excinfo) == (
        "这是旧版 Excel 97-2003（.xls）文件。请用 Excel 或 WPS 打开，另存为“Excel 工作簿（*.xlsx）”后再导入。"
    )


def test_the_message_follows_the_language():
    from django.utils import translation

    with translation.override("en"):
        with pytest.raises(ValidationError) as excinfo:
            workbook_rows_read(b"junk", max_rows=1)
        text, english = message(excinfo), str(spreadsheets.WORKBOOK_UNREADABLE)
    assert text == english != UNREADABLE
    assert text.startswith("The file cannot be read as an Excel workbook (.xlsx)")


def test_tables_read_csv_in_utf8_or_gb18030_and_xlsx():
    text = "交易日期;金额;对方户名\n2026-11-20;800.00;张三\n"
    assert table_rows_read(text.encode("utf-8-sig"), max_rows=10, delimiters=",;") == [
        ["交易日期", "金额", "对方户名"],
        ["2026-11-20", "800.00", "张三"],
    ]
    assert table_rows_read("用户订单号,运单号\n".encode("gb18030"), max_rows=10) == [["用户订单号", "运单号"]]
    assert table_rows_read(xlsx_bytes([["a", 1]]), max_rows=10) == [["a", 1]]
    assert len(table_rows_read(b"a\n" * 50, max_rows=9)) == 10


@pytest.mark.parametrize(
    "content", [CSV_LONG_FIELD, b"a,b\x00c\n", "名单".encode("utf-16")], ids=["long field", "nul", "utf-16"]
)
def test_what_is_neither_csv_nor_xlsx_is_one_clear_message(content):
    with pytest.raises(ValidationError) as excinfo:
        table_rows_read(content, max_rows=100)
    assert message(excinfo) == NOT_A_TABLE


@pytest.mark.parametrize("kind", sorted(BROKEN_WORKBOOKS))
def test_tables_refuse_broken_workbooks_too(kind):
    with pytest.raises(ValidationError) as excinfo:
        table_rows_read(BROKEN_WORKBOOKS[kind](), max_rows=100)
    assert message(excinfo) == UNREADABLE
