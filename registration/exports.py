"""Spreadsheets of registration: the reviewers' Excel export of trainees (the admin list as
filtered). Every cell goes through ``portal.spreadsheets.sheet_row_append`` (text that could be
read as a formula stays text)."""

import io

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.spreadsheets import sheet_row_append

from .selectors import yuan
from .validators import id_number_mask

EXPORT_COLUMNS = [
    ("reference", _("application number")),
    ("unit", _("unit name")),
    ("row", _("row")),
    ("name", _("name")),
    ("gender", _("gender")),
    ("id_number", _("ID number")),
    ("mobile", _("mobile number")),
    ("certificate_type", _("certificate type")),
    ("training_category", _("training category")),
    ("previous_certificate_no", _("previous certificate number")),
    ("status", _("status")),
    ("reason", _("reason")),
    ("fee", _("fee (yuan)")),
    ("paid_at", _("fee paid at")),
    ("programme", _("programme")),
    ("submitted_at", _("submitted at")),
]
COLUMN_WIDTHS = [12, 24, 5, 10, 5, 20, 13, 16, 10, 18, 14, 24, 10, 16, 20, 16]


def trainees_export_filename() -> str:
    return f"trainees-{timezone.localdate():%Y%m%d}.xlsx"


def trainees_workbook(trainees, *, full_id: bool) -> tuple[bytes, list[int]]:
    """The trainees (with their application and programme) as .xlsx, one row each, ID numbers in
    full only with ``full_id``. Returns the file and the ids of the trainees in it."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = gettext("Trainees")[:31]
    sheet_row_append(sheet, [str(label) for _key, label in EXPORT_COLUMNS])
    tz = timezone.get_current_timezone()
    exported_ids = []
    for trainee in trainees:
        exported_ids.append(trainee.pk)
        sheet_row_append(
            sheet,
            [
                trainee.application.reference,
                trainee.application.unit_name,
                trainee.row_number,
                trainee.name,
                trainee.get_gender_display(),
                trainee.id_number if full_id else id_number_mask(trainee.id_number),
                trainee.mobile,
                trainee.get_certificate_type_display(),
                trainee.get_training_category_display(),
                trainee.previous_certificate_no,
                trainee.get_status_display(),
                trainee.status_reason,
                yuan(trainee.fee_fen),
                trainee.paid_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if trainee.paid_at else "",
                trainee.programme.name,
                trainee.application.submitted_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            ],
        )
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), exported_ids
