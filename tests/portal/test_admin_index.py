"""The admin index's to-do panel (portal.admin_todo): counts built from real state, each linked to
the filtered list that shows exactly those rows, only what the user's role may see, in a constant
number of queries."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from payments.models import Invoice
from payments.services.payments import payment_confirm
from portal.admin_todo import admin_todo_items
from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER
from tests.factories import (
    ApprovedTraineeFactory,
    CertificateFactory,
    CompleteTraineeFactory,
    LessonFactory,
    PaymentFactory,
    StaffFactory,
    TraineeFactory,
)

pytestmark = pytest.mark.django_db

INDEX = "admin:index"


def _reported(trainee, number):
    payment = PaymentFactory(
        application=trainee.application,
        trainees=[trainee],
        amount_fen=trainee.fee_fen,
        expected_fen=trainee.fee_fen,
        transaction_no=number,
    )
    Invoice.objects.create(
        payment=payment, buyer_name=trainee.application.invoice_title, email=trainee.application.invoice_email
    )
    return payment


def _world(n: int = 1):
    """n of everything that waits, and some that does not."""
    finance = StaffFactory(role=FINANCE)
    today = timezone.localdate()
    for i in range(n):
        TraineeFactory()  # submitted, attachment 2 not done
        CompleteTraineeFactory()  # submitted, attachment 2 done
        _reported(ApprovedTraineeFactory(), f"R{n}-{i}")  # reported
        confirmed = _reported(ApprovedTraineeFactory(), f"C{n}-{i}")
        payment_confirm(payment=confirmed, actor=finance)  # its invoice is due
        late = _reported(ApprovedTraineeFactory(), f"L{n}-{i}")
        payment_confirm(payment=late, actor=finance)
        Invoice.objects.filter(payment=late).update(due_on=today - datetime.timedelta(days=1))
        CertificateFactory(mail_due_on=today - datetime.timedelta(days=1))  # overdue
        CertificateFactory()  # due in two weeks
        LessonFactory(video_status="failed")
        LessonFactory(video_status="ready")
    ApprovedTraineeFactory()  # reviewed: not to do


def _panel(response) -> dict[str, tuple[int, str]]:
    """{key: (count, link)} of the panel on the page."""
    body = response.content.decode()
    assert 'id="todo-panel"' in body
    items = re.findall(
        r'data-todo="(\w+)">\s*<a href="([^"]*)"><span class="todo-count" data-count="(\d+)"', body
    )
    return {key: (int(count), url.replace("&amp;", "&")) for key, url, count in items}


def test_counts_and_links_for_a_superuser(admin_client):
    _world(2)
    panel = _panel(admin_client.get(reverse(INDEX)))
    assert {key: count for key, (count, _url) in panel.items()} == {
        "trainees_review": 4,
        "attachment2_review": 2,
        "payments_reported": 2,
        "invoices_due": 4,
        "invoices_overdue": 2,
        "certificates_to_mail": 4,
        "certificates_due_soon": 0,
        "certificates_overdue": 2,
        "videos_failed": 2,
    }


@pytest.mark.parametrize(
    "key",
    [
        "trainees_review",
        "attachment2_review",
        "payments_reported",
        "invoices_due",
        "invoices_overdue",
        "certificates_to_mail",
        "certificates_overdue",
        "videos_failed",
    ],
)
def test_each_link_lists_exactly_the_rows_counted(admin_client, key):
    _world(2)
    count, url = _panel(admin_client.get(reverse(INDEX)))[key]
    response = admin_client.get(url)
    assert response.status_code == 200, url
    assert response.context["cl"].result_count == count


def test_each_role_sees_only_its_own_work():
    _world()
    reviewer, finance, course_admin = (StaffFactory(role=role) for role in (REVIEWER, FINANCE, COURSE_ADMIN))
    keys = {
        user: {item.key for item in admin_todo_items(user=user)} for user in (reviewer, finance, course_admin)
    }
    assert keys[reviewer] == {
        "trainees_review",
        "attachment2_review",
        "certificates_to_mail",
        "certificates_due_soon",
        "certificates_overdue",
    }
    # Finance may read trainees (to match payments), but reviewing them is not its work.
    assert keys[finance] == {"payments_reported", "invoices_due", "invoices_overdue"}
    assert keys[course_admin] == {"videos_failed"}
    assert admin_todo_items(user=StaffFactory()) == []  # staff without a role: nothing


def test_the_page_shows_only_the_role_s_items(client):
    _world()
    client.force_login(StaffFactory(role=COURSE_ADMIN))
    panel = _panel(client.get(reverse(INDEX)))
    assert set(panel) == {"videos_failed"}
    assert panel["videos_failed"][0] == 1


def test_queries_do_not_grow_with_the_rows(admin_client, admin_user):
    _world(1)
    with CaptureQueriesContext(connection) as few_page:
        admin_client.get(reverse(INDEX))
    with CaptureQueriesContext(connection) as few:
        admin_todo_items(user=admin_user)
    _world(3)
    with CaptureQueriesContext(connection) as many_page:
        admin_client.get(reverse(INDEX))
    with CaptureQueriesContext(connection) as many:
        items = admin_todo_items(user=admin_user)
    assert len(many.captured_queries) == len(few.captured_queries) <= 6
    assert len(many_page.captured_queries) == len(few_page.captured_queries)
    assert next(item.count for item in items if item.key == "trainees_review") == 8
