"""The training record (培训档案) as Excel or CSV, for one or many enrollments."""

import io

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook

from portal.spreadsheets import csv_writer, sheet_row_append

from .selectors.records import training_records


def _headers() -> list[str]:
    return [
        _("Trainee"),
        _("Mobile number"),
        _("Programme"),
        _("Certificate type"),
        _("Training category"),
        pgettext("study record", "From"),
        pgettext("study record", "To"),
        _("Recorded by"),
        _("Course / lesson"),
        _("Minutes"),
        _("Credited"),
        _("Detail"),
    ]


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _credited(credited: bool | None) -> str:
    """Whether a line's study time counts; empty for a line without time (an exam attempt)."""
    if credited is None:
        return ""
    return _("yes") if credited else _("no")


def record_rows(enrollments) -> list[list]:
    rows = []
    for enrollment, lines in training_records(enrollments):
        trainee = enrollment.trainee
        head = [
            trainee.name,
            enrollment.user.mobile,
            enrollment.programme.name,
            trainee.get_certificate_type_display(),
            trainee.get_training_category_display(),
        ]
        for line in lines:
            rows.append(
                head
                + [
                    _local(line.get("when")),
                    _local(line.get("until")),
                    line.get("kind", ""),
                    line.get("item", ""),
                    float(line["minutes"]) if line.get("minutes") is not None else "",
                    _credited(line.get("credited", True)),
                    line.get("detail", ""),
                ]
            )
    return rows


def export_response(enrollments, *, fmt: str = "xlsx") -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    rows = record_rows(enrollments)
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")  # Excel opens UTF-8 CSV with a BOM correctly
        writer = csv_writer(buffer)
        writer.writerow(_headers())
        writer.writerows(rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="training-record-{stamp}.csv"'
        return response
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Training record")[:31]
    sheet_row_append(sheet, _headers())
    for row in rows:
        sheet_row_append(sheet, row)
    for column, width in zip("ABCDEFGHIJKL", (12, 13, 24, 14, 12, 20, 20, 18, 40, 9, 8, 40), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="training-record-{stamp}.xlsx"'
    return response
