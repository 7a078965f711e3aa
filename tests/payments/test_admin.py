import datetime as dt
import io
import re

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from payments.models import INVOICE_ITEM, Invoice, Payment, PaymentStatus, Statement
from payments.services.payments import payment_confirm
from payments.services.statements import statement_import
from portal.models import AuditEntry
from registration.models import TraineeStatus
from tests.factories import ApplicationFactory, ApprovedTraineeFactory, PaymentFactory, TraineeFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:payments_payment_changelist"


def reported(trainees, *, amount_fen=None, number="TX-A"):
    application = trainees[0].application
    payment = PaymentFactory(
        application=application,
        trainees=trainees,
        amount_fen=sum(t.fee_fen for t in trainees) if amount_fen is None else amount_fen,
        expected_fen=sum(t.fee_fen for t in trainees),
        transaction_no=number,
    )
    Invoice.objects.create(
        payment=payment, buyer_name=application.invoice_title, email=application.invoice_email
    )
    return payment


def test_permissions_of_the_roles(finance_user, reviewer_user):
    # Finance can confirm but cannot approve applications.
    assert finance_user.has_perm("payments.confirm_payment")
    assert finance_user.has_perm("payments.refund_payment")
    assert not finance_user.has_perm("registration.change_trainee")
    assert not finance_user.has_perm("registration.change_application")
    assert not any(
        p.startswith("registration.") and not p.split(".")[1].startswith("view_")
        for p in finance_user.get_all_permissions()
    )
    # Reviewers cannot confirm payments.
    assert not reviewer_user.has_perm("payments.confirm_payment")
    assert not reviewer_user.has_perm("payments.view_payment")
    assert not any(p.startswith("payments.") for p in reviewer_user.get_all_permissions())


def test_reviewer_cannot_confirm_through_admin(client, reviewer_user, three_trainees):
    payment = reported(three_trainees)
    client.force_login(reviewer_user)
    response = client.post(
        reverse(CHANGELIST), {"action": "confirm_action", "_selected_action": [payment.pk]}
    )
    assert response.status_code == 403
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REPORTED


def test_finance_cannot_approve_applications_in_admin(client, finance_user):
    trainee = TraineeFactory(status=TraineeStatus.SUBMITTED)
    client.force_login(finance_user)
    url = reverse("admin:registration_trainee_change", args=[trainee.pk]) if _registered() else None
    if url:
        response = client.post(url, {"status": TraineeStatus.APPROVED})
        assert response.status_code in (200, 302, 403)
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED
    assert not finance_user.has_perm("registration.change_trainee")


def _registered() -> bool:
    from django.contrib import admin

    from registration.models import Trainee

    return admin.site.is_registered(Trainee)


def test_finance_confirms_unit_transfer_for_three_in_one_step(client, finance_user, three_trainees):
    payment = reported(three_trainees)
    client.force_login(finance_user)
    # The list action asks once more (the payment listed) before anything changes ...
    step = client.post(reverse(CHANGELIST), {"action": "confirm_action", "_selected_action": [payment.pk]})
    assert step.status_code == 200 and payment.transaction_no in step.content.decode()
    assert 'name="apply"' in step.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REPORTED
    # ... and confirms on that page's own post.
    response = client.post(
        reverse(CHANGELIST),
        {"action": "confirm_action", "_selected_action": [payment.pk], "apply": "1"},
        follow=True,
    )
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and payment.decided_by == finance_user
    for trainee in three_trainees:
        trainee.refresh_from_db()
        assert trainee.paid_at is not None
    assert [str(m) for m in response.context["messages"]] == [f"已确认缴费（1 笔）：{payment}"]


def test_mismatch_highlighted_and_not_confirmed_silently(
    client, finance_user, application, django_assert_max_num_queries
):
    trainee = ApprovedTraineeFactory(application=application)
    payment = reported([trainee], amount_fen=70_000, number="WX-9")
    for n in range(10):
        reported([ApprovedTraineeFactory()], number=f"N{n}")
    client.force_login(finance_user)
    with django_assert_max_num_queries(20):
        page = client.get(reverse(CHANGELIST), {"status__exact": "reported"}).content.decode()
    assert "payments-mismatch" in page and "-100.00" in page
    response = client.post(
        reverse(CHANGELIST),
        {"action": "confirm_action", "_selected_action": [payment.pk], "apply": "1"},
        follow=True,
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REPORTED
    assert "700.00" in response.content.decode()
    # The explicit action asks for a reason first, then confirms.
    step = client.post(
        reverse(CHANGELIST), {"action": "confirm_mismatch_action", "_selected_action": [payment.pk]}
    )
    assert step.status_code == 200 and 'name="reason"' in step.content.decode()
    client.post(
        reverse(CHANGELIST),
        {
            "action": "confirm_mismatch_action",
            "_selected_action": [payment.pk],
            "apply": "1",
            "reason": "少付100元，已电话确认补交",
        },
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and payment.decision_reason.startswith("少付")


def test_reject_with_reason_reports_each_row(client, finance_user):
    ok = reported([ApprovedTraineeFactory()], number="R1")
    done = reported([ApprovedTraineeFactory()], number="R2")
    payment_confirm(payment=done, actor=finance_user)
    client.force_login(finance_user)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "reject_action", "_selected_action": [ok.pk, done.pk], "apply": "1", "reason": "查无此款"},
        follow=True,
    )
    ok.refresh_from_db()
    done.refresh_from_db()
    assert ok.status == PaymentStatus.REJECTED and done.status == PaymentStatus.CONFIRMED
    # One line for the rows done, one per row refused with the service's reason.
    assert [str(m) for m in response.context["messages"]] == [
        f"已驳回缴费（1 笔）：{ok}",
        f"{done}：未处理：只有待确认的付款才能驳回（该付款状态为“已确认”）。",
    ]


def test_statement_upload_review_and_confirm(client, finance_user):
    unit = ApplicationFactory(unit_name="示例建材有限公司")
    a, b = (
        ApprovedTraineeFactory(application=unit, name="孙一"),
        ApprovedTraineeFactory(application=unit, name="周二"),
    )
    content = "交易日期,流水号,对方户名,用途,贷方金额\n2026-11-20,S1,示例建材有限公司,孙一 周二,1600\n2026-11-20,S2,路人,货款,99\n"
    client.force_login(finance_user)
    upload = SimpleUploadedFile("s.csv", content.encode())
    response = client.post(reverse("admin:payments_statement_upload"), {"source": "bank", "file": upload})
    statement = Statement.objects.get()
    assert response.status_code == 302
    review = client.get(reverse("admin:payments_statement_review", args=[statement.pk])).content.decode()
    assert "孙一" in review and "货款" in review
    # Uploading the same file again creates nothing.
    client.post(
        reverse("admin:payments_statement_upload"),
        {"source": "bank", "file": SimpleUploadedFile("s.csv", content.encode())},
    )
    assert Statement.objects.count() == 1
    client.post(reverse("admin:payments_statement_review", args=[statement.pk]))
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.paid_at and b.paid_at
    line = statement.lines.get(serial="S2")
    page = client.get(reverse("admin:payments_statement_line", args=[line.pk]) + "?q=路人")
    assert page.status_code == 200
    client.post(
        reverse("admin:payments_statement_line", args=[line.pk]), {"ignore": "1", "reason": "非培训费"}
    )
    line.refresh_from_db()
    assert line.status == "ignored"


def test_reviewer_cannot_upload_statements(client, reviewer_user):
    client.force_login(reviewer_user)
    assert client.get(reverse("admin:payments_statement_upload")).status_code == 403


def test_invoice_queue_highlights_and_issue(
    client, finance_user, application, mailoutbox, django_capture_on_commit_callbacks
):
    late = reported([ApprovedTraineeFactory(application=application)], number="I1")
    payment_confirm(payment=late, actor=finance_user)
    Invoice.objects.filter(payment=late).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(finance_user)
    page = client.get(reverse("admin:payments_invoice_changelist") + "?queue=todo").content.decode()
    assert "payments-overdue" in page
    invoice = Invoice.objects.get(payment=late)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:payments_invoice_issue", args=[invoice.pk]),
            {"number": "2544200000001", "pdf": SimpleUploadedFile("inv.pdf", b"%PDF-1.7 x")},
        )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.number == "2544200000001" and invoice.emailed_at is not None
    assert len(mailoutbox) == 1
    pdf = client.get(reverse("payments:invoice_pdf", args=[invoice.pk]))
    assert pdf.status_code == 200


def test_finance_report_and_excel_export(client, finance_user, three_trainees):
    payment = reported(three_trainees)
    payment_confirm(payment=payment, actor=finance_user)
    ApprovedTraineeFactory()  # outstanding
    client.force_login(finance_user)
    page = client.get(reverse("admin:payments_payment_report")).content.decode()
    assert "2,400.00" in page
    today = timezone.localdate()
    response = client.get(
        reverse("admin:payments_payment_report"),
        {"start": today.isoformat(), "end": today.isoformat(), "format": "xlsx"},
    )
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    daily = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert float(daily[1][3]) == 2400.0 and daily[1][2] == 1
    outstanding = list(workbook.worksheets[2].iter_rows(values_only=True))
    assert sum(float(row[2]) for row in outstanding[1:]) >= 800.0


def test_reviewer_cannot_see_report(client, reviewer_user):
    client.force_login(reviewer_user)
    assert client.get(reverse("admin:payments_payment_report")).status_code == 403


def test_refund_action_refused_once_the_account_is_open(client, finance_user):
    from learning.services.accounts import account_open

    trainee = ApprovedTraineeFactory()
    payment = reported([trainee], number="RF1")
    payment_confirm(payment=payment, actor=finance_user)
    account_open(trainee_id=trainee.pk)  # learning opened the study account: no refund any more
    client.force_login(finance_user)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "refund_action", "_selected_action": [payment.pk], "apply": "1", "reason": "退费"},
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"{payment}：未处理：不予退款：{trainee.name} 的学习账号已开通，账号开通后培训费不退。"
    ]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert Payment.objects.filter(status=PaymentStatus.REFUNDED).count() == 0


def test_changelist_links_to_finance_tools(client, finance_user):
    client.force_login(finance_user)
    page = client.get(reverse(CHANGELIST), follow=True).content.decode()
    assert reverse("admin:payments_payment_report") in page
    assert reverse("admin:payments_statement_upload") in page


def test_invoice_queue_due_soon_and_query_count(client, finance_user, django_assert_max_num_queries):
    today = timezone.localdate()
    for n in range(8):
        payment = reported([ApprovedTraineeFactory()], number=f"Q{n}")
        payment_confirm(payment=payment, actor=finance_user)
    soon = Invoice.objects.order_by("pk").first()
    Invoice.objects.filter(pk=soon.pk).update(due_on=today)
    Invoice.objects.exclude(pk=soon.pk).update(due_on=today + dt.timedelta(days=30))
    client.force_login(finance_user)
    with django_assert_max_num_queries(15):
        page = client.get(reverse("admin:payments_invoice_changelist") + "?queue=todo").content.decode()
    assert page.count("payments-due-soon") == 1 and "payments-overdue" not in page
    assert "即将到期" in page


def test_admin_pages_render_for_finance(client, finance_user, payment_settings):
    payment = reported([ApprovedTraineeFactory()], number="SMOKE-1")
    client.force_login(finance_user)
    for url in (
        reverse("admin:payments_payment_change", args=[payment.pk]),
        reverse("admin:payments_invoice_change", args=[payment.invoice.pk]),
        reverse("admin:payments_statement_changelist"),
        reverse("admin:payments_paymentsettings_change", args=[payment_settings.pk]),
        reverse("admin:portal_holiday_add"),
        reverse("admin:payments_statement_upload"),
    ):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("admin:payments_statement_add")).status_code == 302


def test_statement_review_query_count(client, finance_user, django_assert_max_num_queries):
    rows = ["交易日期,流水号,对方户名,用途,贷方金额"]
    for n in range(15):
        trainee = ApprovedTraineeFactory(name=f"测{n:02d}")
        rows.append(f"2026-11-20,Q{n},{trainee.name},{trainee.name},800")
    statement, _ = statement_import(
        content=("\n".join(rows) + "\n").encode(), filename="q.csv", source="bank", actor=finance_user
    )
    client.force_login(finance_user)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("admin:payments_statement_review", args=[statement.pk]))
    assert page.status_code == 200 and "测14" in page.content.decode()


# -- the list opens on what needs action; one payment decided from its own page -------------------


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_payment_list_opens_on_reported_with_status_badges_first(client, finance_user):
    waiting = reported([ApprovedTraineeFactory()], number="WAIT-1")
    done = reported([ApprovedTraineeFactory()], number="DONE-1")
    payment_confirm(payment=done, actor=finance_user)
    client.force_login(finance_user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and response.url.endswith("?status__exact=reported")
    page = client.get(response.url).content.decode()
    assert waiting.transaction_no in page and done.transaction_no not in page
    assert "?_all=1" in page  # the visible “show all” link
    assert 'class="status-badge status-badge--todo"' in page
    assert response_columns(client.get(response.url))[0] == "status_display"  # status first
    everything = client.get(reverse(CHANGELIST), {"_all": "1"}).content.decode()
    assert waiting.transaction_no in everything and done.transaction_no in everything


def response_columns(response) -> list[str]:
    """The changelist's columns in order (after the tick box)."""
    thead = response.content.decode().split("<thead>", 1)[1].split("</thead>", 1)[0]
    return re.findall(r'<th scope="col" class="[^"]*\bcolumn-(\w+)', thead)


def test_payment_page_shows_the_screenshot_beside_the_decisions(client, finance_user, reviewer_user):
    payment = reported([ApprovedTraineeFactory()], number="SHOT-1")
    payment.screenshot.save("shot.png", ContentFile(_png()))
    client.force_login(finance_user)
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    panel = page.split('class="module payment-decision"', 1)[1].split("</section>", 1)[0]
    assert f'<img src="{reverse("payments:payment_screenshot", args=[payment.pk])}"' in panel
    confirm = reverse("admin:payments_payment_decide", args=[payment.pk, "confirm"])
    reject = reverse("admin:payments_payment_decide", args=[payment.pk, "reject"])
    mismatch = reverse("admin:payments_payment_decide", args=[payment.pk, "confirm_mismatch"])
    assert confirm in panel and reject in panel and mismatch not in panel
    # Decided payments offer no buttons.
    payment_confirm(payment=payment, actor=finance_user)
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert confirm not in page and reject not in page
    # Reviewers cannot decide, not even by the URL.
    client.force_login(reviewer_user)
    assert client.get(confirm).status_code == 403


def test_payment_page_confirm_asks_once_more_then_confirms_and_audits(client, finance_user, three_trainees):
    payment = reported(three_trainees, number="PAGE-1")
    client.force_login(finance_user)
    url = reverse("admin:payments_payment_decide", args=[payment.pk, "confirm"])
    step = client.get(url)
    assert step.status_code == 200 and payment.transaction_no in step.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REPORTED  # the GET only asks
    response = client.post(url)
    assert response.status_code == 302
    assert response.url == reverse("admin:payments_payment_change", args=[payment.pk])
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and payment.decided_by == finance_user
    entry = AuditEntry.objects.get(action="payment.confirmed", target_id=str(payment.pk))
    assert entry.actor == finance_user
    for trainee in three_trainees:
        trainee.refresh_from_db()
        assert trainee.paid_at is not None


def test_payment_page_mismatch_needs_a_note(client, finance_user):
    payment = reported([ApprovedTraineeFactory()], amount_fen=70_000, number="MIS-1")
    client.force_login(finance_user)
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert reverse("admin:payments_payment_decide", args=[payment.pk, "confirm"]) not in page
    url = reverse("admin:payments_payment_decide", args=[payment.pk, "confirm_mismatch"])
    assert url in page
    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 200 and refused.context["form"].errors
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REPORTED
    # The plain confirmation is refused by the service for a differing amount.
    plain = client.post(reverse("admin:payments_payment_decide", args=[payment.pk, "confirm"]), follow=True)
    assert any("不符" in str(m) for m in plain.context["messages"])
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REPORTED
    client.post(url, {"reason": "少付100元，单位已承诺补交"})
    payment.refresh_from_db()
    assert (
        payment.status == PaymentStatus.CONFIRMED and payment.decision_reason == "少付100元，单位已承诺补交"
    )


def test_payment_page_reject_needs_a_reason(client, finance_user):
    payment = reported([ApprovedTraineeFactory()], number="REJ-1")
    client.force_login(finance_user)
    url = reverse("admin:payments_payment_decide", args=[payment.pk, "reject"])
    assert 'name="reason"' in client.get(url).content.decode()
    client.post(url, {"reason": "查无此款"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REJECTED and payment.decision_reason == "查无此款"
    assert AuditEntry.objects.filter(action="payment.rejected", target_id=str(payment.pk)).exists()


def test_invoice_list_opens_on_the_queue_to_issue(client, finance_user):
    payment = reported([ApprovedTraineeFactory()], number="INVQ-1")
    payment_confirm(payment=payment, actor=finance_user)
    client.force_login(finance_user)
    response = client.get(reverse("admin:payments_invoice_changelist"))
    assert response.status_code == 302 and response.url.endswith("?queue=todo")
    page = client.get(response.url).content.decode()
    assert payment.invoice.buyer_name in page and "status-badge--todo" in page


def test_issue_page_shows_the_invoice_item_amount_and_title(client, finance_user):
    application = ApplicationFactory(invoice_title="示例机电设备有限公司")
    payment = reported([ApprovedTraineeFactory(application=application)], number="ITEM-1")
    payment_confirm(payment=payment, actor=finance_user)
    client.force_login(finance_user)
    page = client.get(reverse("admin:payments_invoice_issue", args=[payment.invoice.pk])).content.decode()
    assert f'<dd class="invoice-item">{INVOICE_ITEM}</dd>' in page
    assert INVOICE_ITEM == "非学历教育*培训服务费"
    assert "¥800.00" in page and "示例机电设备有限公司" in page
    change = client.get(reverse("admin:payments_invoice_change", args=[payment.invoice.pk])).content.decode()
    assert INVOICE_ITEM in change
