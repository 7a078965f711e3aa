"""Import questions from an Excel workbook (openpyxl), and the downloadable template.

Every bad row is reported by its row number and column; nothing is saved unless the whole file is
clean. Rows are matched to the bank by code: an existing code is updated, a new one created.
"""

import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from openpyxl import Workbook

from portal.models import User
from portal.services import audit_record
from portal.spreadsheets import workbook_rows_read
from registration.models import CertificateType

from .models import TOPICS, Question, QuestionType

OPTION_LETTERS = "ABCDEF"
MAX_ROWS = 5000

COLUMNS = [
    ("code", gettext_lazy("Code")),
    ("qtype", gettext_lazy("Type")),
    ("certificate_types", gettext_lazy("Certificate types")),
    ("topic", gettext_lazy("Topic")),
    ("stem", gettext_lazy("Question")),
    *[
        (f"option_{letter}", gettext_lazy("Option %(letter)s") % {"letter": letter})
        for letter in OPTION_LETTERS
    ],
    ("answer", gettext_lazy("Answer")),
    ("explanation", gettext_lazy("Explanation")),
    ("is_active", pgettext_lazy("question in use", "Active")),
]

TYPE_WORDS = {
    "single": QuestionType.SINGLE,
    "单选": QuestionType.SINGLE,
    "单选题": QuestionType.SINGLE,
    "multiple": QuestionType.MULTIPLE,
    "多选": QuestionType.MULTIPLE,
    "多选题": QuestionType.MULTIPLE,
    "true_false": QuestionType.TRUE_FALSE,
    "判断": QuestionType.TRUE_FALSE,
    "判断题": QuestionType.TRUE_FALSE,
}
CERT_WORDS = {
    "principal": [CertificateType.PRINCIPAL],
    "主要负责人": [CertificateType.PRINCIPAL],
    "safety_manager": [CertificateType.SAFETY_MANAGER],
    "安全生产管理人员": [CertificateType.SAFETY_MANAGER],
    "全部": [CertificateType.PRINCIPAL, CertificateType.SAFETY_MANAGER],
    "all": [CertificateType.PRINCIPAL, CertificateType.SAFETY_MANAGER],
}
TRUE_WORDS = {"正确", "对", "true", "t", "√", "yes"}
FALSE_WORDS = {"错误", "错", "false", "f", "×", "no"}
YES = {"", "是", "yes", "y", "1", "true"}
NO = {"否", "no", "n", "0", "false"}
EXAMPLE_ROWS = [
    [
        "demo-001",
        "单选",
        "主要负责人,安全生产管理人员",
        "law",
        "《安全生产法》规定，生产经营单位的主要负责人是本单位安全生产的什么人？",
        "第一责任人",
        "直接责任人",
        "间接责任人",
        "监督人",
        "",
        "",
        "A",
        "主要负责人是本单位安全生产第一责任人，对本单位的安全生产工作全面负责。",
        "是",
    ],
    [
        "demo-002",
        "判断",
        "全部",
        "fire",
        "发现火灾时应先逃生再报警。",
        "",
        "",
        "",
        "",
        "",
        "",
        "错误",
        "",
        "是",
    ],
]


def template_workbook() -> bytes:
    """The import template: header row, two example rows, and a sheet explaining the columns."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Questions")
    sheet.append([str(label) for _key, label in COLUMNS])
    for row in EXAMPLE_ROWS:
        sheet.append(row)
    for column, width in zip(
        "ABCDEFGHIJKLMN", [12, 8, 26, 18, 50, 20, 20, 20, 20, 20, 20, 10, 40, 8], strict=True
    ):
        sheet.column_dimensions[column].width = width
    help_sheet = book.create_sheet(_("Instructions"))
    help_sheet.append([_("Column"), _("What to enter")])
    for row in [
        (_("Code"), _("A unique code; a code already in the bank updates that question.")),
        (_("Type"), _("单选, 多选 or 判断 (single, multiple, true_false).")),
        (_("Certificate types"), _("主要负责人, 安全生产管理人员 or 全部, separated by commas.")),
        (_("Topic"), ", ".join(f"{key} ({label})" for key, label in TOPICS.items())),
        (_("Option A"), _("Options A to F; at least two for choice questions. Leave empty for 判断.")),
        (_("Answer"), _("The letters of the correct options (e.g. A or ACD); for 判断: 正确 or 错误.")),
        (pgettext("question in use", "Active"), _("是 or 否 (empty = 是).")),
    ]:
        help_sheet.append([str(cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _row_error(row: int, column: str, message: str) -> str:
    return _("Row %(row)s, %(column)s: %(message)s") % {"row": row, "column": column, "message": message}


def _parse_row(number: int, cells: dict, errors: list[str]) -> dict | None:
    labels = dict(COLUMNS)
    before = len(errors)

    def err(key, message):
        errors.append(_row_error(number, str(labels[key]), message))

    code = cells["code"]
    if not code:
        err("code", _("is required."))
    elif len(code) > 30:
        err("code", _("is longer than 30 characters."))
    qtype = TYPE_WORDS.get(cells["qtype"].lower())
    if qtype is None:
        err("qtype", _("must be 单选, 多选 or 判断."))
    certs: set[str] = set()
    for word in cells["certificate_types"].replace("，", ",").replace("、", ",").split(","):
        word = word.strip()
        if not word:
            continue
        if word.lower() in CERT_WORDS:
            certs.update(CERT_WORDS[word.lower()])
        else:
            err("certificate_types", _("unknown certificate type “%(value)s”.") % {"value": word})
    if not certs and not cells["certificate_types"]:
        err("certificate_types", _("is required."))
    topic = cells["topic"]
    if not topic:
        err("topic", _("is required."))
    elif len(topic) > 40:
        err("topic", _("is longer than 40 characters."))
    stem = cells["stem"]
    if not stem:
        err("stem", _("is required."))
    options = [cells[f"option_{letter}"] for letter in OPTION_LETTERS]
    while options and not options[-1]:
        options.pop()
    answer_text = cells["answer"].replace(",", "").replace("，", "").replace(" ", "")
    answer: list[int] = []
    if qtype == QuestionType.TRUE_FALSE:
        options = ["正确", "错误"]
        if answer_text.lower() in TRUE_WORDS or answer_text.upper() == "A":
            answer = [0]
        elif answer_text.lower() in FALSE_WORDS or answer_text.upper() == "B":
            answer = [1]
        else:
            err("answer", _("must be 正确 or 错误 for a true/false question."))
    elif qtype is not None:
        if "" in options:
            err("option_A", _("options must be filled in from A without gaps."))
        if len(options) < 2:
            err("option_A", _("a choice question needs at least two options."))
        letters = answer_text.upper()
        if not letters:
            err("answer", _("is required."))
        elif any(letter not in OPTION_LETTERS[: len(options)] for letter in letters):
            err("answer", _("“%(value)s” is not one of the options given.") % {"value": cells["answer"]})
        else:
            answer = sorted({OPTION_LETTERS.index(letter) for letter in letters})
            if qtype == QuestionType.SINGLE and len(answer) != 1:
                err("answer", _("a single choice question has exactly one correct option."))
            if qtype == QuestionType.MULTIPLE and len(answer) < 2:
                err("answer", _("a multiple choice question has at least two correct options."))
    active = cells["is_active"].lower()
    if active not in YES and active not in NO:
        err("is_active", _("must be 是 or 否."))
    if len(errors) > before:
        return None
    return {
        "code": code,
        "qtype": qtype,
        "for_principal": CertificateType.PRINCIPAL in certs,
        "for_safety_manager": CertificateType.SAFETY_MANAGER in certs,
        "topic": topic,
        "stem": stem,
        "options": options,
        "answer": answer,
        "explanation": cells["explanation"],
        "is_active": active not in NO,
    }


def questions_import(*, file, actor: User | None = None) -> ImportResult:
    """Validate every row; save all of them (atomically) only if none is bad. A file that is not a
    readable workbook raises ``ValidationError`` on ``file``; bad rows are listed in the result."""
    result = ImportResult()
    if hasattr(file, "seek"):
        file.seek(0)
    keys = [key for key, _label in COLUMNS]
    try:
        # The header row and MAX_ROWS questions, plus one row to tell "too many".
        table = workbook_rows_read(file.read(), max_rows=MAX_ROWS + 1, max_columns=len(keys))
    except ValidationError as exc:
        raise ValidationError({"file": exc.error_list}) from None
    parsed: list[dict] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(table[1:], start=2):
        if number > MAX_ROWS + 1:
            result.errors.append(_("The file has more than %(max)s rows.") % {"max": MAX_ROWS})
            break
        values = list(values)[: len(keys)] + [None] * max(0, len(keys) - len(values))
        cells = dict(zip(keys, (_text(v) for v in values), strict=True))
        if not any(cells.values()):
            continue
        row = _parse_row(number, cells, result.errors)
        if row is None:
            continue
        if row["code"] in seen:
            result.errors.append(
                _row_error(
                    number,
                    str(dict(COLUMNS)["code"]),
                    _("the same code is already on row %(row)s.") % {"row": seen[row["code"]]},
                )
            )
            continue
        seen[row["code"]] = number
        parsed.append(row)
    if not parsed and not result.errors:
        result.errors.append(_("The file has no questions."))
    if result.errors:
        return result
    now = timezone.now()
    with transaction.atomic():
        existing = Question.objects.in_bulk([row["code"] for row in parsed], field_name="code")
        to_create, to_update = [], []
        for row in parsed:
            question = existing.get(row["code"])
            if question is None:
                to_create.append(Question(**row))
            else:
                for name, value in row.items():
                    setattr(question, name, value)
                question.updated_at = now
                to_update.append(question)
        Question.objects.bulk_create(to_create, batch_size=500)
        fields = [key for key in parsed[0] if key != "code"] + ["updated_at"]
        Question.objects.bulk_update(to_update, fields, batch_size=200)
        result.created, result.updated = len(to_create), len(to_update)
        audit_record(
            actor=actor,
            action="exams.questions_imported",
            new={"created": result.created, "updated": result.updated},
        )
    return result
