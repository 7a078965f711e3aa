"""Spreadsheets of payments: the finance report as an Excel workbook (daily totals, totals by
programme, what is outstanding), from the rows of ``payments.selectors``. Every cell goes through
``portal.spreadsheets.sheet_row_append`` (text that could be read as a formula stays text)."""

import io
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from portal.spreadsheets import sheet_row_append

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _money(fen) -> Decimal:
    return Decimal(fen or 0) / 100


def finance_report_filename(*, start: date, end: date) -> str:
    return f"finance-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"


def finance_report_workbook(*, daily: list[dict], by_programme: list[dict], outstanding: list[dict]) -> bytes:
    """The finance report as .xlsx: rows of ``report_daily`` and ``report_by_programme`` (each with its
    ``channel_label``) and of ``report_outstanding``; amounts in yuan."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = _("Daily")[:31]
    sheet_row_append(sheet, [_("Date"), _("Payment method"), _("Payments"), _("Total (yuan)")])
    for row in daily:
        sheet_row_append(sheet, [row["day"], row["channel_label"], row["count"], _money(row["total_fen"])])
    sheet = workbook.create_sheet(_("By programme")[:31])
    sheet_row_append(sheet, [_("Programme"), _("Payment method"), _("Payments"), _("Total (yuan)")])
    for row in by_programme:
        sheet_row_append(
            sheet,
            [
                row["application__programme__name"],
                row["channel_label"],
                row["count"],
                _money(row["total_fen"]),
            ],
        )
    sheet = workbook.create_sheet(_("Outstanding")[:31])
    sheet_row_append(
        sheet,
        [
            _("Programme"),
            _("Unpaid trainees"),
            _("Outstanding (yuan)"),
            _("Reported, unconfirmed (yuan)"),
        ],
    )
    for row in outstanding:
        sheet_row_append(
            sheet,
            [
                row["programme"].name,
                row["unpaid_count"],
                _money(row["outstanding_fen"]),
                _money(row["pending_fen"]),
            ],
        )
    for ws in workbook.worksheets:
        for cell in ws[1]:
            cell.font = openpyxl.styles.Font(bold=True)
        for column in ws.iter_cols(min_col=4, max_col=4, min_row=2):
            for cell in column:
                cell.number_format = "#,##0.00"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
