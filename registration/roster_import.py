"""The roster of attachment 1 as an Excel workbook: the blank template and reading a filled one.

The template follows the paper form of the notice: title, unit and contact, certificate mailing,
the roster (序号 / 姓名 / 身份证号码 / 手机号码 / 证书类型 / 培训类别 / 原证书编号) and the invoice
block. Reading does not depend on fixed positions: the unit fields are found by their labels and
the roster by its header row, so units may insert as many rows as they need (or send a sheet with
only the roster). Every row is checked with the same form as the web page; each problem is
reported with its Excel row number. Nothing is saved here.
"""

import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from portal.spreadsheets import workbook_rows_read

from .forms import ROSTER_FIELDS, RosterRowForm
from .models import CertificateType, TrainingCategory
from .services.applications import MAX_ROSTER_ROWS, roster_duplicates_check
from .validators import INDUSTRY_CHOICES

MAX_WORKBOOK_BYTES = 5 * 1024 * 1024
MAX_SCAN_ROWS = MAX_ROSTER_ROWS + 200
MAX_SCAN_COLUMNS = 20
TEMPLATE_ROSTER_ROWS = 100

# Labels of the paper form (Chinese, as printed in the notice); the reader also knows synonyms.
TITLE = "企业主要负责人和安全生产管理人员 线上培训报名表"
CERTIFICATE_LABELS = {
    CertificateType.PRINCIPAL: "主要负责人",
    CertificateType.SAFETY_MANAGER: "安全生产管理人员",
}
CATEGORY_LABELS = {TrainingCategory.INITIAL: "初始培训", TrainingCategory.REFRESHER: "再培训"}
HEADERS = [
    "序号",
    "姓名",
    "身份证号码",
    "手机号码",
    "电子邮箱（选填）",
    "证书类型",
    "培训类别",
    "原证书编号（再培训填写）",
]

_CERTIFICATE_SYNONYMS = {
    "主要负责人": CertificateType.PRINCIPAL,
    "负责人": CertificateType.PRINCIPAL,
    "principal": CertificateType.PRINCIPAL,
    "principalpersonincharge": CertificateType.PRINCIPAL,
    "安全生产管理人员": CertificateType.SAFETY_MANAGER,
    "安全管理人员": CertificateType.SAFETY_MANAGER,
    "安全员": CertificateType.SAFETY_MANAGER,
    "safety_manager": CertificateType.SAFETY_MANAGER,
    "safetymanager": CertificateType.SAFETY_MANAGER,
    "safetyproductionmanager": CertificateType.SAFETY_MANAGER,
}
_CATEGORY_SYNONYMS = {
    "初始培训": TrainingCategory.INITIAL,
    "初次培训": TrainingCategory.INITIAL,
    "初训": TrainingCategory.INITIAL,
    "初始": TrainingCategory.INITIAL,
    "initial": TrainingCategory.INITIAL,
    "initialtraining": TrainingCategory.INITIAL,
    "再培训": TrainingCategory.REFRESHER,
    "复训": TrainingCategory.REFRESHER,
    "年度再培训": TrainingCategory.REFRESHER,
    "refresher": TrainingCategory.REFRESHER,
    "refreshertraining": TrainingCategory.REFRESHER,
}

# Applicant field -> labels that introduce it on the sheet (compared without spaces and colons).
_APPLICANT_LABELS = {
    "unit_name": ["单位名称"],
    "industry": ["所属行业", "行业"],
    "contact_name": ["联系人"],
    "contact_phone": ["联系电话"],
    "contact_email": ["联系邮箱", "联系人邮箱"],
    "mail_recipient": ["收件人"],
    "mail_phone": ["收件人电话"],
    "mail_address": ["地址", "邮寄地址", "收件地址"],
    "invoice_title": ["开票单位全称"],
    "invoice_tax_id": ["纳税人识别号(统一信用代码)", "纳税人识别号", "统一社会信用代码"],
    "invoice_email": ["电子邮箱(用于发送电子发票)", "发票邮箱"],
}
_LABEL_TO_FIELD = {label: name for name, labels in _APPLICANT_LABELS.items() for label in labels}

# Roster column -> header texts (normalised; the first that a header starts with wins).
_COLUMN_HEADERS = [
    ("name", ("姓名",)),
    ("id_number", ("身份证号码", "身份证号", "身份证")),
    ("mobile", ("手机号码", "手机号", "手机")),
    ("email", ("电子邮箱", "邮箱", "email", "e-mail")),
    ("certificate_type", ("证书类型", "证书名称", "申报类别")),
    ("training_category", ("培训类别", "培训类型")),
    ("previous_certificate_no", ("原证书编号", "原证书号", "证书编号")),
]

_NORMALISE = re.compile(r"[\s:：“”\"'‘’]")


def _norm(value) -> str:
    text = _NORMALISE.sub("", str(value or ""))
    return text.replace("（", "(").replace("）", ")").lower()


def certificate_type_parse(value) -> str:
    """``主要负责人`` / ``安全生产管理人员`` (or the code) to the code; ``""`` if unknown."""
    return _CERTIFICATE_SYNONYMS.get(_norm(value).replace("(", "").replace(")", ""), "")


def training_category_parse(value) -> str:
    """``初始培训`` / ``再培训`` (or the code) to the code; ``""`` if unknown."""
    return _CATEGORY_SYNONYMS.get(_norm(value), "")


def industry_parse(value) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    codes = {code for code, _label in INDUSTRY_CHOICES}
    if text in codes:
        return text
    for code, label in INDUSTRY_CHOICES:
        if _norm(text) == _norm(str(label)) or _norm(text) == _norm(str(label)).removeprefix(code.lower()):
            return code
    first = text.split()[0]
    return first if first in codes else text


def cell_text(value) -> str:
    """A cell as text: integral numbers without ``.0`` (ID and mobile numbers typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


# --- The blank template ---------------------------------------------------------------------


def roster_template() -> bytes:
    """The blank attachment 1 workbook (xlsx bytes) with dropdowns for 证书类型 and 培训类别."""
    wb = Workbook()
    ws = wb.active
    ws.title = "报名表"
    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    label_fill = PatternFill("solid", fgColor="F2F2F2")
    last_col = len(HEADERS)
    last = get_column_letter(last_col)

    for column, width in zip("ABCDEFGH", (8, 12, 24, 16, 24, 20, 14, 22), strict=True):
        ws.column_dimensions[column].width = width

    ws.append([TITLE])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = centre
    ws.row_dimensions[1].height = 30

    def label_row(row, cells):
        """``cells``: (column letter, text, is_label, merge_to)."""
        for column, text, is_label, merge_to in cells:
            ws[f"{column}{row}"] = text
            if merge_to:
                ws.merge_cells(f"{column}{row}:{merge_to}{row}")
            if is_label:
                ws[f"{column}{row}"].font = bold
                ws[f"{column}{row}"].fill = label_fill
        for col in range(1, last_col + 1):
            ws.cell(row=row, column=col).border = box

    label_row(
        2,
        [
            ("A", "单位名称：", True, "B"),
            ("C", None, False, "E"),
            ("F", "所属行业：", True, None),
            ("G", None, False, "H"),
        ],
    )
    label_row(
        3,
        [
            ("A", "联系人：", True, "B"),
            ("C", None, False, None),
            ("D", "联系电话：", True, None),
            ("E", None, False, None),
            ("F", "联系邮箱：", True, None),
            ("G", None, False, "H"),
        ],
    )
    label_row(
        4,
        [
            ("A", "邮寄证书信息", True, "B"),
            ("C", "收件人：", True, None),
            ("D", None, False, None),
            ("E", "收件人电话：", True, None),
            ("F", None, False, "H"),
        ],
    )
    label_row(5, [("A", "", True, "B"), ("C", "地址：", True, None), ("D", None, False, "H")])
    label_row(6, [("A", "参训人员信息", True, last)])
    ws["A6"].alignment = centre

    header_row = 7
    for col, text in enumerate(HEADERS, start=1):
        cell = ws.cell(row=header_row, column=col, value=text)
        cell.font = bold
        cell.alignment = centre
        cell.fill = label_fill
        cell.border = box
    first_data = header_row + 1
    last_data = header_row + TEMPLATE_ROSTER_ROWS
    text_format = "@"
    for row in range(first_data, last_data + 1):
        ws.cell(row=row, column=1, value=row - header_row).alignment = centre
        for col in range(1, last_col + 1):
            cell = ws.cell(row=row, column=col)
            cell.border = box
            if col in (3, 4, 8):
                cell.number_format = text_format  # ID and mobile numbers stay text

    # Dropdowns: the lists live on a hidden sheet (an inline list is limited to 255 characters).
    lists = wb.create_sheet("选项")
    for row, label in enumerate(CERTIFICATE_LABELS.values(), start=1):
        lists.cell(row=row, column=1, value=label)
    for row, label in enumerate(CATEGORY_LABELS.values(), start=1):
        lists.cell(row=row, column=2, value=label)
    for row, (code, label) in enumerate(INDUSTRY_CHOICES, start=1):
        lists.cell(row=row, column=3, value=f"{code} {str(label).removeprefix(code).strip()}")
    lists.sheet_state = "hidden"

    certificate = DataValidation(
        type="list",
        formula1=f"'选项'!$A$1:$A${len(CERTIFICATE_LABELS)}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="证书类型",
        error="请选择“主要负责人”或“安全生产管理人员”。",
    )
    category = DataValidation(
        type="list",
        formula1=f"'选项'!$B$1:$B${len(CATEGORY_LABELS)}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="培训类别",
        error="请选择“初始培训”或“再培训”。",
    )
    industry = DataValidation(
        type="list", formula1=f"'选项'!$C$1:$C${len(INDUSTRY_CHOICES)}", allow_blank=True
    )
    for validation in (certificate, category, industry):
        ws.add_data_validation(validation)
    certificate.add(f"F{first_data}:F{last_data}")
    category.add(f"G{first_data}:G{last_data}")
    industry.add("G2")

    row = last_data + 1
    invoice = [
        ("开票单位信息（必填）", "开票单位全称："),
        ("", "纳税人识别号（统一信用代码）："),
        ("", "电子邮箱（用于发送电子发票）："),
    ]
    for offset, (block, label) in enumerate(invoice):
        r = row + offset
        ws.cell(row=r, column=1, value=block or None)
        ws.cell(row=r, column=3, value=label).font = bold
        ws.merge_cells(f"C{r}:D{r}")
        ws.merge_cells(f"E{r}:{last}{r}")
        ws.cell(row=r, column=5).number_format = text_format
        for col in range(1, last_col + 1):
            ws.cell(row=r, column=col).border = box
    ws.merge_cells(f"A{row}:B{row + 2}")
    ws.cell(row=row, column=1).font = bold
    ws.cell(row=row, column=1).alignment = centre
    ws.cell(row=row, column=1).fill = label_fill

    notes = row + 4
    ws.cell(row=notes, column=1, value="注：")
    ws.cell(
        row=notes + 1,
        column=1,
        value="1、证书类型填“主要负责人”或“安全生产管理人员”，培训类别填“初始培训”或“再培训”；再培训请填写原证书编号。",
    )
    ws.cell(
        row=notes + 2, column=1, value="2、手机号码必须填写学员本人的手机号码，一人一号，用于开通学习账号。"
    )
    ws.cell(
        row=notes + 3,
        column=1,
        value="3、人数较多时可在名单中间插入行；身份证号码请以文本格式填写（不要让 Excel 转成科学计数法）。",
    )
    ws.freeze_panes = ws.cell(row=first_data, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- Reading a filled workbook ----------------------------------------------------------------


@dataclass
class RosterImport:
    applicant: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)  # keys: ROSTER_FIELDS (values cleaned if valid)
    excel_rows: list[int] = field(default_factory=list)  # Excel row number of each entry of ``rows``
    valid: list[bool] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class WorkbookError(Exception):
    """The file is not a readable .xlsx workbook (message for the user)."""


def _rows(file) -> list[list]:
    """The rows of the uploaded workbook (the shared safe loader); :class:`WorkbookError` if unreadable."""
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(MAX_WORKBOOK_BYTES + 1) if hasattr(file, "read") else bytes(file)
    if len(data) > MAX_WORKBOOK_BYTES:
        raise WorkbookError(
            _("The workbook is too large; the limit is %(limit)s MB.")
            % {"limit": MAX_WORKBOOK_BYTES // (1024 * 1024)}
        )
    try:
        return workbook_rows_read(data, max_rows=MAX_SCAN_ROWS, max_columns=MAX_SCAN_COLUMNS)
    except ValidationError as exc:
        raise WorkbookError(exc.messages[0]) from None


def _header_columns(values: list[str]) -> dict[str, int] | None:
    normalised = [_norm(v) for v in values]
    if "姓名" not in normalised or not any(v.startswith("身份证") for v in normalised):
        return None
    columns: dict[str, int] = {}
    for index, text in enumerate(normalised):
        if not text:
            continue
        for name, prefixes in _COLUMN_HEADERS:
            if name not in columns and any(text.startswith(p) for p in prefixes):
                columns[name] = index
                break
    return columns


def _is_label_row(values: list) -> bool:
    """A row of the unit / invoice blocks (below the roster in the template), not a trainee."""
    for value in values:
        if isinstance(value, str):
            text = _norm(value)
            if text in _LABEL_TO_FIELD or text.startswith("开票单位信息"):
                return True
    return False


def _applicant_from_row(values: list, applicant: dict) -> None:
    """Label cells followed by their value (the next non-empty cell to the right)."""
    texts = [cell_text(v) for v in values]
    for index, text in enumerate(texts):
        name = _LABEL_TO_FIELD.get(_norm(text))
        if not name or applicant.get(name):
            continue
        for value in texts[index + 1 :]:
            if not value:
                continue
            if _LABEL_TO_FIELD.get(_norm(value)):
                break  # the next label: this one was left empty
            applicant[name] = value
            break


def roster_read(file, *, programme=None) -> RosterImport:
    """Read a filled attachment 1 workbook (rows checked by the ``programme``'s rules, see
    :func:`registration.services.applications.roster_row_check`). Raises :class:`WorkbookError` if
    it cannot be read."""
    table = _rows(file)[:MAX_SCAN_ROWS]
    result = RosterImport()
    columns = None
    row_messages: list[list[str]] = []  # per entry of result.rows
    cut = ""
    for excel_row, values in enumerate(table, start=1):
        if columns is None:
            found = _header_columns([cell_text(v) for v in values])
            if found:
                columns = found
            else:
                _applicant_from_row(values, result.applicant)
            continue
        raw = {
            name: cell_text(values[index]) if index < len(values) else "" for name, index in columns.items()
        }
        if _is_label_row(values) or not any(raw.get(name) for name in ("name", "id_number", "mobile")):
            # Blank roster line (only 序号 or dropdowns filled), or the invoice block below it.
            _applicant_from_row(values, result.applicant)
            continue
        if len(result.rows) >= MAX_ROSTER_ROWS:
            cut = _("Row %(row)s and below: a roster can have at most %(max)s trainees.") % {
                "row": excel_row,
                "max": MAX_ROSTER_ROWS,
            }
            break
        row_messages.append(_row_read(result, excel_row, raw, values, columns, programme=programme))
    _duplicates_add(result, row_messages)
    for excel_row, messages in zip(result.excel_rows, row_messages, strict=True):
        for message in messages:
            result.errors.append(_("Row %(row)s: %(message)s") % {"row": excel_row, "message": message})
        result.valid.append(not messages)
    if cut:
        result.errors.append(cut)
    if columns is None:
        result.errors.append(
            _(
                "No roster found: the sheet needs a header row with “姓名” and “身份证号码” (use the "
                "downloadable template)."
            )
        )
    elif not result.rows:
        result.errors.append(_("The roster in the workbook is empty."))
    result.applicant = {k: v for k, v in result.applicant.items() if v}
    if "industry" in result.applicant:
        result.applicant["industry"] = industry_parse(result.applicant["industry"])
    return result


def _row_read(result, excel_row, raw, values, columns, *, programme=None) -> list[str]:
    """Read one roster line into ``result`` (cleaned if valid, as typed otherwise); return its
    problems."""
    data = {name: raw.get(name, "") for name in ROSTER_FIELDS}
    data["certificate_type"] = certificate_type_parse(raw.get("certificate_type")) or raw.get(
        "certificate_type", ""
    )
    data["training_category"] = training_category_parse(raw.get("training_category")) or raw.get(
        "training_category", ""
    )
    form = RosterRowForm(data=data, programme=programme)
    messages = []
    if form.is_valid():
        row = form.roster_data()
    else:
        row = {name: form.cleaned_data.get(name, data[name]) for name in ROSTER_FIELDS}
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                text = error
                if name == "id_number" and _lost_precision(values, columns):
                    text = _(
                        "Excel stored the ID number as a number and lost its last digits; format the "
                        "column as text and type the number again."
                    )
                elif name == "certificate_type" and raw.get("certificate_type"):
                    text = _(
                        "“%(value)s” is not a certificate type; write 主要负责人 or 安全生产管理人员."
                    ) % {"value": raw["certificate_type"]}
                elif name == "training_category" and raw.get("training_category"):
                    text = _("“%(value)s” is not a training category; write 初始培训 or 再培训.") % {
                        "value": raw["training_category"]
                    }
                messages.append(
                    _("%(field)s: %(message)s") % {"field": label, "message": text} if label else str(text)
                )
    result.rows.append(row)
    result.excel_rows.append(excel_row)
    return messages


def _duplicates_add(result: RosterImport, row_messages: list[list[str]]) -> None:
    """The same person or mobile number twice among the readable rows (the service's rule), each
    named by its Excel row."""
    readable = [index for index, messages in enumerate(row_messages) if not messages]
    duplicates = roster_duplicates_check(
        rows=[result.rows[index] for index in readable],
        labels=[result.excel_rows[index] for index in readable],
    )
    fields = RosterRowForm.base_fields
    for position, errors in duplicates.items():
        for name, messages in errors.items():
            row_messages[readable[position - 1]].extend(
                _("%(field)s: %(message)s") % {"field": fields[name].label, "message": message}
                for message in messages
            )


def _lost_precision(values, columns) -> bool:
    index = columns.get("id_number")
    value = values[index] if index is not None and index < len(values) else None
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 2**53


def roster_parse(file) -> tuple[dict, list[dict], list[str]]:
    """``(applicant, rows, errors)`` of a filled workbook; an unreadable file is one error.

    ``rows`` holds every roster line found (cleaned values where valid, what was typed otherwise);
    ``errors`` names each bad row by its Excel row number. The caller decides; nothing is saved.
    """
    try:
        result = roster_read(file)
    except WorkbookError as exc:
        return {}, [], [str(exc)]
    return result.applicant, result.rows, result.errors
