import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from learning.models import EXPIRY_AUDIT_ACTION, Enrollment, EnrollmentStatus
from learning.services.accounts import account_open
from learning.services.passing import enrollment_mark_passed
from learning.services.windows import enrollments_expire
from portal.models import AuditEntry
from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER
from registration.models import TraineeStatus
from tests.factories import ApprovedTraineeFactory, PaidTraineeFactory, StaffFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DASHBOARD = "admin:learning_pipelinedashboard_changelist"


def test_roles_get_their_permissions():
    course = Group.objects.get(name=COURSE_ADMIN).permissions.values_list("codename", flat=True)
    assert {"view_enrollment", "extend_enrollment"} <= set(course)
    for role in (REVIEWER, FINANCE):
        codenames = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
        assert "view_enrollment" in codenames and "extend_enrollment" not in codenames


def test_dashboard_is_linked_from_the_admin_index_for_every_staff_member(client):
    client.force_login(StaffFactory(role=FINANCE))
    html = client.get(reverse("admin:index")).content.decode()
    assert reverse(DASHBOARD) in html


def test_dashboard_counts_and_late_accounts(
    client, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with time_machine.travel(START, tick=False) as clock:
        ApprovedTraineeFactory(status=TraineeStatus.SUBMITTED)
        ApprovedTraineeFactory()  # approved, unpaid
        late = PaidTraineeFactory(status=TraineeStatus.RETURNED, name="迟到甲")
        opened = PaidTraineeFactory()
        with django_capture_on_commit_callbacks(execute=True):
            account_open(trainee_id=opened.pk)
        clock.move_to(START + timedelta(days=1, hours=12))
        risky = PaidTraineeFactory(
            status=TraineeStatus.RETURNED, name="风险乙", paid_at=START + timedelta(hours=2)
        )
        client.force_login(StaffFactory(role=REVIEWER))
        with django_assert_max_num_queries(15):
            response = client.get(reverse(DASHBOARD))
        assert response.status_code == 200
        counts = response.context["counts"]
        assert counts == {
            "registered": 5,
            "approved": 2,
            "paid": 3,
            "opened": 1,
            "active": 1,
            "expired": 0,
            "passed": 0,
        }
        assert response.context["late"] == []
        assert [row["trainee"] for row in response.context["at_risk"]] == [late, risky]
        clock.move_to(START + timedelta(days=2, hours=1))
        client.force_login(StaffFactory(role=REVIEWER))  # sessions last 12 hours
        response = client.get(reverse(DASHBOARD))
        assert [row["trainee"] for row in response.context["late"]] == [late]
        assert [row["trainee"] for row in response.context["at_risk"]] == [risky]
        html = response.content.decode()
        assert "迟到甲" in html and "已超时" in html


def test_dashboard_needs_staff(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse(DASHBOARD)).status_code == 302


def test_extend_action_with_intermediate_form(client, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            enrollment = account_open(trainee_id=PaidTraineeFactory().pk)
        clock.move_to(START + timedelta(days=31))
        enrollments_expire()
        staff = StaffFactory(role=COURSE_ADMIN)
        client.force_login(staff)
        url = reverse("admin:learning_enrollment_changelist")
        form = client.post(url, {"action": "extend_windows", "_selected_action": [enrollment.pk]})
        assert form.status_code == 200 and "延长天数" in form.content.decode()
        missing_reason = client.post(
            url, {"action": "extend_windows", "_selected_action": [enrollment.pk], "apply": "1", "days": "5"}
        )
        assert missing_reason.status_code == 200
        assert Enrollment.objects.get().status == EnrollmentStatus.EXPIRED
        done = client.post(
            url,
            {
                "action": "extend_windows",
                "_selected_action": [enrollment.pk],
                "apply": "1",
                "days": "5",
                "reason": "病假",
            },
            follow=True,
        )
    assert done.status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.deadline == START + timedelta(days=36)
    assert AuditEntry.objects.get(action="enrollment.extended").reason == "病假"
    # the enrollment's page lists its history, the expiry run (one entry for all it voided) included
    client.force_login(staff)  # the session above was opened at the travelled-to time
    response = client.get(reverse("admin:learning_enrollment_change", args=[enrollment.pk]))
    assert response.status_code == 200, response
    page = response.content.decode()
    expiry = AuditEntry.objects.get(action=EXPIRY_AUDIT_ACTION)
    for entry in AuditEntry.objects.filter(action__in=["enrollment.opened", "enrollment.extended"]):
        assert reverse("admin:portal_auditentry_change", args=[entry.pk]) in page
    assert reverse("admin:portal_auditentry_change", args=[expiry.pk]) in page
    assert EXPIRY_AUDIT_ACTION in page and "病假" in page


def test_extend_action_reports_extended_and_refused_rows(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        active = account_open(trainee_id=PaidTraineeFactory(name="延长甲").pk)
        passed = account_open(trainee_id=PaidTraineeFactory(name="合格乙").pk)
    enrollment_mark_passed(enrollment=passed, passed_at=passed.opened_at)
    client.force_login(StaffFactory(role=COURSE_ADMIN))
    response = client.post(
        reverse("admin:learning_enrollment_changelist"),
        {
            "action": "extend_windows",
            "_selected_action": [active.pk, passed.pk],
            "apply": "1",
            "days": "5",
            "reason": "系统故障",
        },
        follow=True,
    )
    assert [str(message) for message in response.context["messages"]] == [
        "已延长学习期限（1 人）：延长甲",
        "合格乙：未处理：该学员已合格，无需延长学习期限。",
    ]
    assert Enrollment.objects.get(pk=active.pk).extended_days == 5
    assert Enrollment.objects.get(pk=passed.pk).extended_days == 0


def test_extend_action_hidden_without_permission(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account_open(trainee_id=PaidTraineeFactory().pk)
    client.force_login(StaffFactory(role=REVIEWER))
    response = client.get(reverse("admin:learning_enrollment_changelist"))
    assert response.status_code == 200
    assert "extend_windows" not in response.content.decode()
