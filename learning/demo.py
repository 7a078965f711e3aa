"""Demo data of the learning app (``manage.py demo_data``; safe to run again).

Opens the study accounts of approved, paid trainees that the registration / payments demo data
created (only what exists), and makes one demo trainee with a known password so that
``make run`` shows the personal centre.
"""

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.models import User
from registration.models import Application, Programme, Trainee, TraineeStatus
from registration.services.personal_data import trainee_set_id_number

from .models import Course, CoursePlan, Lesson, LessonKind
from .selectors.accounts import trainees_awaiting_account
from .services.accounts import account_open

DEMO_MOBILE = "13700000001"
DEMO_PASSWORD = "demo-trainee-2026"
DEMO_REFERENCE = "DEMO-LEARN-1"
CONTENT = Path(__file__).resolve().parent / "demo_content" / "courses.json"


@transaction.atomic
def content_load(path: Path = CONTENT) -> tuple[int, int, int]:
    """Courses, lessons and course plans from ``demo_content/courses.json``, matched by code
    (re-running updates them in place; nothing is duplicated)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    plan_courses: dict[tuple[str, str], list[Course]] = {}
    lesson_count = 0
    for order, item in enumerate(data["courses"], start=1):
        course, _created = Course.objects.update_or_create(
            code=item["code"],
            defaults={"title": item["title"], "description": item.get("description", ""), "order": order},
        )
        for lesson_order, entry in enumerate(item["lessons"], start=1):
            Lesson.objects.update_or_create(
                code=entry["code"],
                defaults={
                    "course": course,
                    "order": lesson_order,
                    "title": entry["title"],
                    "kind": entry.get("kind", LessonKind.HTML),
                    "class_hours": Decimal(str(entry["class_hours"])),
                    "body_html": entry.get("body_html", ""),
                },
            )
            lesson_count += 1
        for plan in item.get("plans", []):
            plan_courses.setdefault((plan["certificate_type"], plan["training_category"]), []).append(course)
    for (certificate_type, category), courses in plan_courses.items():
        plan, _created = CoursePlan.objects.get_or_create(
            certificate_type=certificate_type, training_category=category
        )
        plan.courses.add(*courses)
    return len(data["courses"]), lesson_count, len(plan_courses)


def _demo_trainee(programme: Programme) -> Trainee:
    """A fictional approved, paid trainee of the demo programme (created once)."""
    trainee = Trainee.objects.filter(programme=programme, mobile=DEMO_MOBILE).first()
    if trainee is not None:
        return trainee
    application, _created = Application.objects.get_or_create(
        reference=DEMO_REFERENCE,
        defaults={
            "programme": programme,
            "kind": "individual",
            "unit_name": "示例学习演示有限公司",
            "industry": "批发零售",
            "contact_name": "陈演示",
            "contact_phone": DEMO_MOBILE,
            "mail_recipient": "陈演示",
            "mail_phone": DEMO_MOBILE,
            "mail_address": "示例市中心区演示路 8 号",
            "invoice_title": "示例学习演示有限公司",
            "invoice_email": "invoice@example.org",
        },
    )
    trainee = Trainee(
        application=application,
        programme=programme,
        name="陈演示",
        mobile=DEMO_MOBILE,
        email="trainee@example.org",
        certificate_type="safety_manager",
        training_category="initial",
        status=TraineeStatus.APPROVED,
        status_changed_at=timezone.now(),
        paid_at=timezone.now() - timedelta(hours=3),
    )
    trainee_set_id_number(trainee=trainee, id_number="110101199003074258")  # encrypted, with its hash
    trainee.save()
    return trainee


def load(*, stdout) -> None:
    courses, lessons, plans = content_load()
    stdout.write(f"Learning demo: {courses} course(s), {lessons} lesson(s), {plans} course plan(s) loaded.")
    opened = 0
    for trainee_id in trainees_awaiting_account().values_list("pk", flat=True):
        try:
            account_open(trainee_id=trainee_id)
            opened += 1
        except ValidationError:
            pass
    programme = Programme.objects.order_by("-year", "-opens_on").first()
    if (
        programme is not None
        and not Trainee.objects.filter(mobile=DEMO_MOBILE, enrollment__isnull=False).exists()
    ):
        try:
            with transaction.atomic():
                trainee = _demo_trainee(programme)
                if trainee.status == TraineeStatus.APPROVED and trainee.paid_at:
                    account_open(trainee_id=trainee.pk)
        except (ValidationError, ValueError, TypeError) as exc:  # registration's model may have moved on
            stdout.write(f"Learning demo: could not create the demo trainee ({exc}).")
    user = User.objects.filter(mobile=DEMO_MOBILE).first()
    if user is None:
        user = User.objects.create_user(mobile=DEMO_MOBILE, name="陈演示")
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    stdout.write(f"Learning demo: {opened} study account(s) opened for paid trainees.")
    stdout.write(f"Demo trainee (personal centre at /learning/): {DEMO_MOBILE}  {DEMO_PASSWORD}")
