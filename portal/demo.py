"""Demo data of the site shell: a fictional association, one account per staff role and the
holiday table rows for a year the calendar package does not cover.

Loaded by ``manage.py demo_data`` (``make run``); safe to run again.
"""

from datetime import date

from django.contrib.auth.models import Group

from .models import Association, Holiday, User
from .roles import COURSE_ADMIN, FINANCE, REVIEWER

DEMO_ACCOUNTS = [
    # mobile, name, password, role (None = superuser)
    ("13900000001", "演示管理员", "demo-admin-2026", None),
    ("13900000002", "演示审核员", "demo-reviewer-2026", REVIEWER),
    ("13900000003", "演示财务", "demo-finance-2026", FINANCE),
    ("13900000004", "演示课程管理员", "demo-course-2026", COURSE_ADMIN),
]

# 2027 is not in chinesecalendar 1.11 yet: New Year's Day is certain; staff add the rest when the
# State Council publishes the 2027 schedule.
HOLIDAYS = [(date(2027, 1, 1), "元旦", False)]


def load(*, stdout) -> None:
    Association.objects.get_or_create(
        pk=1,
        defaults={
            "name": "示例市职业安全健康协会",
            "short_name": "示例安协",
            "certificate_issuer": "示例省安全生产协会",
            "address": "示例市中心区安康路 1 号 12 层",
            "contact_name": "李老师",
            "contact_phone": "020-00000000",
            "email": "training@example.org",
        },
    )
    for day, name, is_workday in HOLIDAYS:
        Holiday.objects.get_or_create(date=day, defaults={"name": name, "is_workday": is_workday})
    lines = []
    for mobile, name, password, role in DEMO_ACCOUNTS:
        user = User.objects.filter(mobile=mobile).first()
        if user is None:
            if role is None:
                user = User.objects.create_superuser(mobile=mobile, name=name, password=password)
            else:
                user = User.objects.create_user(mobile=mobile, name=name, password=password, is_staff=True)
                user.groups.add(Group.objects.get(name=role))
        lines.append(f"  {role or 'superuser':<14} {mobile}  {password}")
    stdout.write("Demo staff accounts (log in at /admin/ or /login/ with mobile number and password):")
    for line in lines:
        stdout.write(line)
