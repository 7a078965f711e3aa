import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook, load_workbook

from exams.models import Question, QuestionType
from exams.question_import import questions_import, template_workbook
from tests.factories import QuestionFactory

pytestmark = pytest.mark.django_db


def workbook_bytes(rows, *, header=True) -> io.BytesIO:
    book = load_workbook(io.BytesIO(template_workbook())) if header else Workbook()
    sheet = book.worksheets[0]
    sheet.delete_rows(2, sheet.max_row)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_template_round_trip_imports_its_example_rows():
    result = questions_import(file=io.BytesIO(template_workbook()))
    assert result.errors == [] and result.created == 2
    single = Question.objects.get(code="demo-001")
    assert single.qtype == QuestionType.SINGLE and single.answer == [0] and len(single.options) == 4
    assert single.for_principal and single.for_safety_manager and single.topic == "law"
    tf = Question.objects.get(code="demo-002")
    assert tf.options == ["正确", "错误"] and tf.answer == [1]
    # Importing the same file again updates by code instead of duplicating.
    again = questions_import(file=io.BytesIO(template_workbook()))
    assert (again.created, again.updated) == (0, 2)
    assert Question.objects.count() == 2


def test_import_multiple_choice_and_update_existing():
    QuestionFactory(code="x-1", stem="旧题干")
    rows = [
        [
            "x-1",
            "多选",
            "安全生产管理人员",
            "fire",
            "新题干",
            "甲",
            "乙",
            "丙",
            "",
            "",
            "",
            "AC",
            "解析",
            "是",
        ],
        ["x-2", "single", "principal", "law", "题干", "甲", "乙", "", "", "", "", "B", "", "否"],
    ]
    result = questions_import(file=workbook_bytes(rows))
    assert result.errors == [] and (result.created, result.updated) == (1, 1)
    updated = Question.objects.get(code="x-1")
    assert updated.stem == "新题干" and updated.answer == [0, 2] and updated.qtype == "multiple"
    assert not updated.for_principal and updated.for_safety_manager
    assert Question.objects.get(code="x-2").is_active is False


def test_bad_rows_are_all_reported_and_nothing_is_saved():
    rows = [
        ["ok-1", "单选", "全部", "law", "题干", "甲", "乙", "", "", "", "", "A", "", ""],
        ["", "单选", "全部", "law", "题干", "甲", "乙", "", "", "", "", "A", "", ""],
        ["bad-2", "问答", "全部", "law", "题干", "甲", "乙", "", "", "", "", "A", "", ""],
        ["bad-3", "单选", "老板", "law", "题干", "甲", "乙", "", "", "", "", "AB", "", ""],
        ["bad-4", "判断", "全部", "law", "题干", "", "", "", "", "", "", "也许", "", ""],
        ["bad-5", "多选", "全部", "law", "题干", "甲", "乙", "丙", "", "", "", "A", "", ""],
        ["ok-1", "单选", "全部", "law", "题干", "甲", "乙", "", "", "", "", "E", "", "也许"],
    ]
    result = questions_import(file=workbook_bytes(rows))
    assert Question.objects.count() == 0
    text = "\n".join(result.errors)
    for row in (3, 4, 5, 6, 7, 8):
        assert f"第 {row} 行" in text
    assert "第 2 行" not in text
    assert "编号：必填" in text
    assert "须为单选、多选或判断" in text
    assert "老板" in text and "单选题只能有一个正确选项" in text
    assert "判断题的答案" in text and "多选题至少有两个正确选项" in text
    assert "“E”不是已填写的选项" in text and "须为“是”或“否”" in text


def test_duplicate_codes_in_the_file_are_reported():
    row = ["d-1", "判断", "全部", "law", "题干", "", "", "", "", "", "", "正确", "", ""]
    result = questions_import(file=workbook_bytes([row, row]))
    assert result.errors and "第 3 行" in result.errors[0] and "第 2 行" in result.errors[0]
    assert not Question.objects.exists()


def test_not_an_excel_file_is_refused_on_the_file():
    with pytest.raises(ValidationError) as refused:
        questions_import(file=io.BytesIO(b"name,stem\n1,2\n"))
    assert refused.value.message_dict == {
        "file": [
            "无法读取该文件：它已损坏或不是 Excel 工作簿（.xlsx）。请用 Excel 或 WPS 打开，"
            "另存为“Excel 工作簿（*.xlsx）”后重新上传。"
        ]
    }
    assert not Question.objects.exists()
