"""The courier spreadsheets: the SF Express batch-order sheet out, the tracking numbers back in."""

from __future__ import annotations

import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.spreadsheets import sheet_row_append, table_rows_read

#: Columns of SF Express's batch order template (顺丰批量下单模板), in its order. The certificate
#: number goes in 用户订单号 so that the export SF returns with the waybill numbers maps back.
MAILING_COLUMNS = [
    "用户订单号",
    "寄件公司",
    "寄件联系人",
    "寄件电话",
    "寄件详细地址",
    "收件公司",
    "收件联系人",
    "收件电话",
    "收件详细地址",
    "托寄物内容",
    "托寄物数量",
    "付款方式",
    "业务类型",
    "备注",
]

NUMBER_HEADERS = {"用户订单号", "证书编号", "certificate number", "certificate", "order number"}
TRACKING_HEADERS = {"运单号", "运单号码", "顺丰运单号", "快递单号", "tracking number", "tracking", "waybill"}
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 20000


def mailing_workbook(certificates, *, config, sender_company: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "批量下单"
    sheet_row_append(sheet, MAILING_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in certificates:
        sheet_row_append(
            sheet,
            [
                row.number,
                sender_company,
                config.sender_name,
                config.sender_phone,
                config.sender_address,
                row.unit_name,
                row.mail_recipient,
                row.mail_phone,
                row.mail_address,
                "培训合格证书",
                1,
                "到付",
                "顺丰标快",
                f"{row.holder_name} 应寄日期 {row.mail_due_on.isoformat()}",
            ],
        )
    for column, width in zip(
        "ABCDEFGHIJKLMN", (16, 24, 10, 14, 36, 28, 10, 14, 44, 14, 8, 8, 10, 30), strict=True
    ):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header_index(header: list[str], names: set[str]) -> int | None:
    for index, value in enumerate(header):
        if str(value or "").strip().lower() in {name.lower() for name in names}:
            return index
    return None


def _rows_from_table(table: list[list]) -> list[tuple[int, str, str]]:
    header_at = number_at = tracking_at = None
    for index, header in enumerate(table[:10]):  # SF's exports may start with a title row
        number_at = _header_index(header, NUMBER_HEADERS)
        tracking_at = _header_index(header, TRACKING_HEADERS)
        if number_at is not None and tracking_at is not None:
            header_at = index
            break
    if header_at is None:
        raise ValidationError(
            _(
                "The file needs a header row with the columns “用户订单号” (certificate number) and “运单号” (tracking number)."
            )
        )
    rows = []
    for offset, values in enumerate(table[header_at + 1 :], start=header_at + 2):
        number = values[number_at] if number_at < len(values) else ""
        tracking = values[tracking_at] if tracking_at < len(values) else ""
        rows.append(
            (
                offset,
                "" if number is None else str(number).strip(),
                "" if tracking is None else str(tracking).strip(),
            )
        )
    return rows


def tracking_rows_read(upload) -> list[tuple[int, str, str]]:
    """``(row number, certificate number, tracking number)`` from an .xlsx or .csv upload."""
    if upload.size > MAX_IMPORT_BYTES:
        raise ValidationError(_("The file is larger than 5 MB."))
    rows = table_rows_read(upload.read(MAX_IMPORT_BYTES + 1), max_rows=MAX_IMPORT_ROWS)
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(_("The file has more than %(max)s rows.") % {"max": MAX_IMPORT_ROWS})
    table = [[_cell_text(value) for value in values] for values in rows]
    if not table:
        raise ValidationError(_("The file is empty."))
    return _rows_from_table(table)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a waybill number typed into Excel becomes a float
    return str(value)


# --- The issuing authority's list (发证机关名单) and its certificate numbers back ------------------

#: Columns of the list sent to the issuing authority, in its order; the authority fills in the last
#: one (its own certificate number) and sends the file back for :func:`issuer_rows_read`.
ISSUER_COLUMNS = [
    "证书编号",
    "姓名",
    "身份证号",
    "单位",
    "证书类型",
    "培训类别",
    "学时",
    "成绩",
    "考试日期",
    "发证机关证书编号",
]
ISSUER_HEADERS = {
    "number": {"证书编号", "培训证书编号", "certificate number"},
    "name": {"姓名", "name"},
    "id_number": {"身份证号", "身份证号码", "id number"},
    "issuer_number": {"发证机关证书编号", "发证编号", "issuer number", "issuer's certificate number"},
}


def issuer_workbook(rows: list[dict]) -> bytes:
    """The issuer's list: one row per ``dict`` with the keys of :data:`ISSUER_COLUMNS`' meaning."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "发证名单"
    sheet_row_append(sheet, ISSUER_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet_row_append(
            sheet,
            [
                row["number"],
                row["name"],
                row["id_number"],
                row["unit"],
                row["certificate_type"],
                row["training_category"],
                row["hours"],
                row["score"],
                row["exam_date"],
                row["issuer_number"],
            ],
        )
    for column, width in zip("ABCDEFGHIJ", (16, 10, 22, 32, 18, 10, 8, 8, 12, 22), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _issuer_columns(header: list[str]) -> dict[str, int] | None:
    """Where each column of :data:`ISSUER_HEADERS` is in this row, or ``None`` if one is missing."""
    columns = {key: _header_index(header, names) for key, names in ISSUER_HEADERS.items()}
    return columns if all(index is not None for index in columns.values()) else None


def issuer_rows_read(upload) -> list[dict]:
    """``{"row", "number", "name", "id_number", "issuer_number"}`` per data row of the file the
    issuing authority sends back (.xlsx or .csv; the header row names the columns)."""
    if upload.size > MAX_IMPORT_BYTES:
        raise ValidationError(_("The file is larger than 5 MB."))
    rows = table_rows_read(upload.read(MAX_IMPORT_BYTES + 1), max_rows=MAX_IMPORT_ROWS)
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(_("The file has more than %(max)s rows.") % {"max": MAX_IMPORT_ROWS})
    table = [[_cell_text(value).strip() for value in values] for values in rows]
    if not table:
        raise ValidationError(_("The file is empty."))
    found = next(
        (
            (at, columns)
            for at, columns in enumerate(_issuer_columns(header) for header in table[:10])
            if columns is not None
        ),
        None,
    )
    if found is None:
        raise ValidationError(
            _(
                "The file needs a header row with the columns “证书编号” (certificate number), “姓名” "
                "(name), “身份证号” (ID number) and “发证机关证书编号” (the issuer's certificate number)."
            )
        )
    header_at, columns = found
    result = []
    for line, values in enumerate(table[header_at + 1 :], start=header_at + 2):
        row = {key: values[index] if index < len(values) else "" for key, index in columns.items()}
        if any(row.values()):
            result.append({"row": line, **row})
    return result
