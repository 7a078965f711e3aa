"""Demo data of the site shell: a fictional association, one account per staff role and the
holiday table rows for a year the calendar package does not cover, and two announcements (the
year's exam date change; next year's training, pinned).

Loaded by ``manage.py demo_data`` (``make run``); safe to run again.
"""

from datetime import date, timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from .models import Announcement, Association, Contact, ContactRole, FaqEntry, Holiday, User
from .roles import COURSE_ADMIN, FINANCE, REVIEWER
from .selectors import contacts_cache_clear

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

# The contacts the notice names (技术咨询 one person, 报名咨询 two), with fictional names and numbers
# like the rest of the demo; staff enter the real ones in admin (门户 → 联系人).
CONTACTS = [
    # role, name, phone, e-mail, hours
    (ContactRole.TECHNICAL, "姚老师", "020-00000001", "", "工作日 9:00–17:30"),
    (ContactRole.REGISTRATION, "王老师", "020-00000002", "training@example.org", "工作日 9:00–17:30"),
    (ContactRole.REGISTRATION, "翁老师", "020-00000003", "", "工作日 9:00–17:30"),
    (ContactRole.PAYMENT, "财务 陈老师", "020-00000004", "invoice@example.org", "工作日 9:00–12:00"),
]

FAQ = [
    # topic, question, answer (HTML)
    (
        "账号与登录",
        "缴费后多久可以登录学习？",
        "<p>财务确认缴费后 2 天内开通学习账号，系统会发送短信（填写了邮箱的同时发送邮件），"
        "按链接设置密码即可。登录名是报名时填写的本人手机号。</p>",
    ),
    (
        "账号与登录",
        "没有收到短信或忘记了密码怎么办？",
        "<p>在登录页点击“首次登录或忘记密码？获取短信验证码”，输入手机号获取验证码后设置新密码。</p>",
    ),
    (
        "学习与考试",
        "为什么有些学习时间没有计入？",
        "<p>学习页面会不定时弹出在岗确认，请在倒计时内点击“我在学习”；未按时确认的时间不计入。"
        "每天计入的学时有上限，同一时间只能在一个窗口学习。</p>",
    ),
    (
        "学习与考试",
        "考试没有及格怎么办？",
        "<p>交卷后提示“成绩未及格，请及时参加补考”时，点击下方的“开始补考”即可补考。</p>",
    ),
    (
        "证书与发票",
        "证书什么时候寄出？",
        "<p>考试合格后 10 个工作日内以顺丰到付的方式寄出，运单号会显示在个人中心。"
        "电子证书可随时在个人中心下载。</p>",
    ),
    (
        "证书与发票",
        "发票什么时候开具？",
        "<p>缴费后 5 个工作日内开具增值税普通电子发票，发送到报名时填写的邮箱。</p>",
    ),
]


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
    if not Contact.objects.exists():
        Contact.objects.bulk_create(
            Contact(role=role, name=name, phone=phone, email=email, hours=hours, order=order)
            for order, (role, name, phone, email, hours) in enumerate(CONTACTS, start=1)
        )
        contacts_cache_clear()  # bulk_create sends no post_save
    if not FaqEntry.objects.exists():
        FaqEntry.objects.bulk_create(
            FaqEntry(topic=topic, question=question, answer_html=answer, order=order)
            for order, (topic, question, answer) in enumerate(FAQ, start=1)
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
    _announcements_load()


def _announcements(year: int) -> list[tuple[str, str, int, bool]]:
    """(title, HTML text, days since publication, pinned) of the demo announcements."""
    return [
        (
            f"关于{year + 1}年度线上培训的预告",
            f"<p>{year + 1}年度非高危行业生产经营单位主要负责人和安全生产管理人员线上培训预计于"
            f"{year + 1}年1月开放报名，收费标准和学时要求不变。具体安排以届时发布的通知为准。</p>",
            1,
            True,
        ),
        (
            f"{year}年度线上培训考试时间调整的通知",
            "<p>因平台维护，原定本周六的在线考试顺延至下周一 9:00 开放，已完成学时的学员无需重新学习。</p>"
            "<ul><li>考试时长、合格分数和补考次数不变；</li><li>如有疑问请联系报名咨询电话。</li></ul>",
            3,
            False,
        ),
    ]


def _announcements_load() -> None:
    """The demo announcements, published a few days ago (so they are shown); written by the admin."""
    now = timezone.now()
    author = User.objects.filter(mobile=DEMO_ACCOUNTS[0][0]).first()
    for title, body, days_ago, pinned in _announcements(timezone.localdate().year):
        Announcement.objects.get_or_create(
            title=title,
            defaults={
                "body_html": body,
                "publish_at": now - timedelta(days=days_ago),
                "pinned": pinned,
                "created_by": author,
            },
        )
