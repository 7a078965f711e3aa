"""Admin of unit accounts (registration/admin/units.py): contacts through the services, merging
duplicate units with a row-by-row report, the list's query count."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from portal.models import AuditEntry
from registration.models import Unit, UnitContact
from tests.factories import ApplicationFactory, UnitContactFactory, UnitFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:registration_unit_changelist")


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_list_counts_applications_and_contacts_in_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    for n in range(3):
        unit = UnitFactory(name=f"计数单位{n}")
        for _ in range(n + 1):
            ApplicationFactory(unit=unit, invoice_tax_id=unit.credit_code)
        UnitContactFactory(unit=unit)
        UnitContactFactory(unit=unit, active=False)
    admin_client.get(CHANGELIST)
    with django_assert_max_num_queries(12):
        response = admin_client.get(CHANGELIST)
    rows = response.context["cl"].result_list
    assert {(row.name, row.applications_total, row.contacts_active) for row in rows} == {
        ("计数单位0", 1, 1),
        ("计数单位1", 2, 1),
        ("计数单位2", 3, 1),
    }


def _inline(unit, rows: list[dict], initial: int = 0) -> dict:
    data = {
        "name": unit.name,
        "contacts-TOTAL_FORMS": str(len(rows)),
        "contacts-INITIAL_FORMS": str(initial),
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"contacts-{index}-{key}": value for key, value in row.items()})
        data[f"contacts-{index}-unit"] = str(unit.pk)
    return data


def test_staff_add_and_remove_contacts_through_the_services(admin_client, admin_user):
    unit = UnitFactory()
    url = reverse("admin:registration_unit_change", args=[unit.pk])
    response = admin_client.post(
        url, _inline(unit, [{"id": "", "mobile": "13700003030", "name": "陈", "active": "on"}])
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contact = UnitContact.objects.get(unit=unit)
    assert (contact.mobile, contact.added_by_staff) == ("13700003030", admin_user)
    entry = AuditEntry.objects.get(action="unit.contact_added", target_id=str(unit.pk))
    assert entry.actor == admin_user

    response = admin_client.post(
        url, _inline(unit, [{"id": str(contact.pk), "mobile": "13700003030", "name": "陈"}], 1)
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert not contact.active
    assert AuditEntry.objects.filter(action="unit.contact_removed", target_id=str(unit.pk)).exists()


def test_merge_asks_which_unit_to_keep_then_merges_each_other_unit(admin_client):
    keep, dup1, dup2 = (
        UnitFactory(name="保留单位"),
        UnitFactory(name="重复单位一"),
        UnitFactory(name="重复单位二"),
    )
    moved = ApplicationFactory(unit=dup1, invoice_tax_id=dup1.credit_code)
    UnitContactFactory(unit=dup2, mobile="13700003131")
    selected = {"action": "merge_selected", "_selected_action": [keep.pk, dup1.pk, dup2.pk]}
    page = admin_client.post(CHANGELIST, selected)
    assert (
        page.status_code == 200
        and "保留单位" in page.content.decode()
        and 'name="target"' in page.content.decode()
    )
    assert not Unit.objects.filter(merged_into__isnull=False).exists()

    response = admin_client.post(CHANGELIST, {**selected, "apply": "1", "target": str(keep.pk)})
    assert response.status_code == 302
    assert set(Unit.objects.filter(merged_into=keep).values_list("pk", flat=True)) == {dup1.pk, dup2.pk}
    moved.refresh_from_db()
    assert moved.unit == keep and UnitContact.objects.get(mobile="13700003131").unit == keep
    assert len([m for m in _messages(response) if "保留单位" in m]) == 2  # one line per merged unit


def test_merge_of_an_already_merged_unit_is_reported_not_done(admin_client):
    keep, other = UnitFactory(), UnitFactory()
    gone = UnitFactory(merged_into=other)
    response = admin_client.post(
        CHANGELIST,
        {
            "action": "merge_selected",
            "_selected_action": [keep.pk, gone.pk],
            "apply": "1",
            "target": str(keep.pk),
        },
    )
    assert response.status_code == 302
    gone.refresh_from_db()
    assert gone.merged_into == other
    assert any("请至少选择两个未合并过的单位。" in m for m in _messages(response))
