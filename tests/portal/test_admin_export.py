"""“Export to Excel (current filters)” (portal.admin_export): on every staff list, the list's own
filters, search and masking, audited, formula-safe, capped."""

import io

import pytest
from django.contrib import admin
from django.test import override_settings
from django.urls import reverse
from openpyxl import load_workbook

from payments.models import PaymentStatus
from payments.services.payments import payment_confirm
from portal.admin_export import ExcelExportMixin
from portal.admin_lists import DefaultFilterMixin
from portal.models import AuditEntry, OutboundMessage
from portal.roles import FINANCE, REVIEWER
from registration.validators import id_number_mask
from tests.factories import ApprovedTraineeFactory, PaymentFactory, StaffFactory, TraineeFactory

pytestmark = pytest.mark.django_db

#: Admins without a list of rows (a dashboard, a statistics page): no export, on purpose.
NO_LIST = {"learning.pipelinedashboard", "exams.examstatistics"}


def _rows(response) -> list[tuple]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def _label(model) -> str:
    return model._meta.label_lower


def test_every_registered_list_has_the_export(admin_client):
    """Walks ``admin.site._registry``: every model admin with a list exports it (a superuser gets a
    workbook whose header is the list's columns) and its list page links to the export."""
    failures = []
    for model, model_admin in admin.site._registry.items():
        label = _label(model)
        if label in NO_LIST:
            assert not model_admin.export_enabled, label
            continue
        if not isinstance(model_admin, ExcelExportMixin) or not model_admin.export_enabled:
            failures.append(f"{label}: no export")
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_export")
        response = admin_client.get(url)
        if response.status_code != 200:
            failures.append(f"{label}: export {response.status_code}")
            continue
        header = _rows(response)[0]
        if not header or not all(header):
            failures.append(f"{label}: empty header {header}")
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        page = admin_client.get(changelist, {"_all": "1"})
        if page.status_code != 200 or url not in page.content.decode():
            failures.append(f"{label}: list {page.status_code} without the export link")
    assert not failures, "\n".join(failures)
    assert len(admin.site._registry) - len(NO_LIST) >= 25  # the walk really walked


def test_export_follows_the_filters_search_and_sort_of_the_list(client):
    finance = StaffFactory(role=FINANCE)
    reported = [
        PaymentFactory(trainees=[ApprovedTraineeFactory()], payer_name=f"付款人{n}") for n in range(3)
    ]
    confirmed = PaymentFactory(trainees=[ApprovedTraineeFactory()], payer_name="已确认的付款人")
    payment_confirm(payment=confirmed, actor=finance)
    client.force_login(finance)
    url = reverse("admin:payments_payment_export")
    rows = _rows(client.get(url, {"status__exact": PaymentStatus.REPORTED, "o": "-4"}))
    payers = [row[rows[0].index("付款人")] for row in rows[1:]]
    assert payers == [
        "付款人2",
        "付款人1",
        "付款人0",
    ]  # filtered, and in the list's order (payer, descending)
    searched = _rows(client.get(url, {"q": "已确认"}))
    assert [row[searched[0].index("付款人")] for row in searched[1:]] == ["已确认的付款人"]
    everything = _rows(client.get(url))
    assert len(everything) == 1 + len(reported) + 1  # no filter: every row, every page
    # The list's button carries the list's filters.
    page = client.get(reverse("admin:payments_payment_changelist"), {"status__exact": "reported"})
    assert f"{url}?status__exact=reported" in page.content.decode()


def test_export_masks_what_the_list_masks_and_is_audited(client):
    reviewer = StaffFactory(role=REVIEWER)
    OutboundMessage.objects.create(
        event="t:1:sms", notice="t:1", channel="sms", recipient="13812345678", status="failed"
    )
    client.force_login(reviewer)
    rows = _rows(client.get(reverse("admin:portal_outboundmessage_export"), {"delivery": "undelivered"}))
    cells = [str(cell) for row in rows[1:] for cell in row]
    assert "13812345678" not in cells and any(cell.startswith("138") and "*" in cell for cell in cells)
    entry = AuditEntry.objects.get(action="outboundmessage.exported")
    assert entry.actor == reviewer
    assert entry.new_value["rows"] == 1 and entry.new_value["filters"] == "delivery=undelivered"
    # ID numbers: masked for finance (no full-ID permission), as on the list.
    trainee = TraineeFactory()
    finance = StaffFactory(role=FINANCE)
    client.force_login(finance)
    rows = _rows(client.get(reverse("admin:registration_trainee_export"), {"q": trainee.name}))
    assert id_number_mask(trainee.id_number) in rows[1] and trainee.id_number not in rows[1]
    assert AuditEntry.objects.get(action="trainee.exported").new_value["full_id_numbers"] is False


def test_text_that_looks_like_a_formula_stays_text(client):
    finance = StaffFactory(role=FINANCE)
    PaymentFactory(trainees=[ApprovedTraineeFactory()], payer_name='=HYPERLINK("http://x.example","y")')
    client.force_login(finance)
    response = client.get(reverse("admin:payments_payment_export"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("付款人") + 1)
    assert cell.value.startswith("=HYPERLINK") and cell.data_type == "s" and cell.quotePrefix


@override_settings(PORTAL_ADMIN_EXPORT_MAX_ROWS=2)
def test_a_list_over_the_cap_is_refused_with_a_message(client):
    finance = StaffFactory(role=FINANCE)
    for _n in range(3):
        PaymentFactory(trainees=[ApprovedTraineeFactory()])
    client.force_login(finance)
    response = client.get(
        reverse("admin:payments_payment_export"), {"status__exact": "reported"}, follow=True
    )
    assert response.redirect_chain[0][0].endswith("/admin/payments/payment/?status__exact=reported")
    messages = [str(m) for m in response.context["messages"]]
    assert any("3" in m and "2" in m for m in messages), messages
    assert not AuditEntry.objects.filter(action="payment.exported").exists()
    assert _rows(client.get(reverse("admin:payments_payment_export"), {"q": "nobody"}))[1:] == []


def test_the_export_needs_the_list_s_view_permission(client):
    client.force_login(StaffFactory(role=REVIEWER))
    assert client.get(reverse("admin:payments_payment_export")).status_code == 403
    client.force_login(StaffFactory())
    assert client.get(reverse("admin:portal_auditentry_export")).status_code == 403


def test_lists_with_default_filters_redirect_a_bare_visit_and_show_all_on_request(client):
    client.force_login(StaffFactory(role=REVIEWER))
    defaults = {
        _label(model): model_admin.default_filters
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, DefaultFilterMixin) and model_admin.default_filters
    }
    assert defaults["registration.trainee"] == {"status__exact": "submitted"}
    assert defaults["registration.application"] == {"review": "pending"}
    assert defaults["payments.payment"] == {"status__exact": "reported"}
    assert defaults["payments.invoice"] == {"queue": "todo"}
    url = reverse("admin:registration_trainee_changelist")
    response = client.get(url)
    assert response.status_code == 302 and response.url == f"{url}?status__exact=submitted"
    opened = client.get(response.url).content.decode()
    assert f'href="{url}?_all=1"' in opened  # the visible “show all” link
    shown_all = client.get(url, {"_all": "1"})
    assert shown_all.status_code == 200 and shown_all.context["cl"].result_count >= 0
    # The status filter's own “All” choice leads to the whole list, not back to the default.
    assert "?_all=1" in "".join(
        choice["query_string"]
        for spec in shown_all.context["cl"].filter_specs
        for choice in spec.choices(shown_all.context["cl"])
    )
