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
