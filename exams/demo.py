"""Demo data of the exams app (``manage.py demo_data``; safe to run again).

Loads the question bank written for the demo (``demo_content/questions.json``, matched by code)
and the four default exam templates (certificate type × training category), 100 points each.
"""

import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from .models import ExamTemplate, ExamTemplateRule, Question, QuestionType

QUESTIONS_FILE = Path(__file__).resolve().parent / "demo_content" / "questions.json"

S, M, T = QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUE_FALSE

# (certificate type, category) -> (name, minutes, [(type, topic, count, points)])
# Bank sizes: principal 84 single / 32 multiple / 32 true-false; safety manager 104 / 38 / 38.
TEMPLATES = {
    ("principal", "initial"): (
        "主要负责人 初次培训考试",
        90,
        [(S, "law", 10, "1"), (S, "", 50, "1"), (M, "", 20, "1.5"), (T, "", 10, "1")],
    ),
    ("principal", "refresher"): (
        "主要负责人 再培训考试",
        60,
        [(S, "", 40, "1.5"), (M, "", 10, "2"), (T, "", 20, "1")],
    ),
    ("safety_manager", "initial"): (
        "安全生产管理人员 初次培训考试",
        90,
        [(S, "law", 10, "1"), (S, "", 50, "1"), (M, "", 20, "1.5"), (T, "", 10, "1")],
    ),
    ("safety_manager", "refresher"): (
        "安全生产管理人员 再培训考试",
        60,
        [(S, "", 40, "1.5"), (M, "", 10, "2"), (T, "", 20, "1")],
    ),
}


def questions_load() -> tuple[int, int]:
    """Create or update the demo questions by code. Returns (created, updated)."""
    data = json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))["questions"]
    created = updated = 0
    for q in data:
        _obj, was_created = Question.objects.update_or_create(
            code=q["code"],
            defaults={
                "qtype": q["type"],
                "for_principal": "principal" in q["certificate_types"],
                "for_safety_manager": "safety_manager" in q["certificate_types"],
                "topic": q["topic"],
                "stem": q["stem"],
                "options": q["options"],
                "answer": sorted(q["answer"]),
                "explanation": q.get("explanation", ""),
                "is_active": True,
            },
        )
        created += was_created
        updated += not was_created
    return created, updated


def templates_load() -> int:
    """Create the default templates that do not exist yet (existing ones are left as staff set them)."""
    created = 0
    for (cert, category), (name, minutes, rules) in TEMPLATES.items():
        template, was_created = ExamTemplate.objects.get_or_create(
            programme=None,
            certificate_type=cert,
            training_category=category,
            defaults={"name": name, "time_limit_minutes": minutes},
        )
        if was_created:
            created += 1
            ExamTemplateRule.objects.bulk_create(
                ExamTemplateRule(template=template, qtype=t, topic=topic, count=count, points=Decimal(points))
                for t, topic, count, points in rules
            )
    return created


def load(*, stdout) -> None:
    with transaction.atomic():
        created, updated = questions_load()
        templates = templates_load()
    stdout.write(f"exams: {created} questions created, {updated} updated; {templates} exam templates created")
