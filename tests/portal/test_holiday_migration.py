"""The holiday table moved from payments to portal without losing anything: its rows, finance's
permissions on it and the audit entries about its rows; and back again."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.roles import FINANCE

BEFORE = [("payments", "0002_roles")]
AFTER = [("portal", "0005_holiday")]
PERMISSIONS = {"view_holiday", "add_holiday", "change_holiday", "delete_holiday"}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return MigrationExecutor(connection).loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _tables() -> set[str]:
    return set(connection.introspection.table_names())


def _finance_holiday_permissions(apps, app_label: str) -> dict[str, int]:
    Group = apps.get_model("auth", "Group")
    return dict(
        Group.objects.get(name=FINANCE)
        .permissions.filter(content_type__app_label=app_label, content_type__model="holiday")
        .values_list("codename", "pk")
    )


@pytest.mark.django_db(transaction=True)
def test_rows_permissions_and_audit_entries_move_to_portal_and_back():
    old_apps = _migrate(BEFORE)
    try:
        assert "payments_holiday" in _tables() and "portal_holiday" not in _tables()
        OldHoliday = old_apps.get_model("payments", "Holiday")
        OldHoliday.objects.create(date=datetime.date(2027, 1, 1), name="元旦")
        OldHoliday.objects.create(date=datetime.date(2027, 2, 20), name="春节调休", is_workday=True)
        held = _finance_holiday_permissions(old_apps, "payments")
        assert set(held) == PERMISSIONS
        old_type = old_apps.get_model("contenttypes", "ContentType").objects.get(
            app_label="payments", model="holiday"
        )
        old_apps.get_model("portal", "AuditEntry").objects.create(
            action="admin.payments.holiday.add", target_type_id=old_type.pk, target_id="1"
        )

        new_apps = _migrate(AFTER)
        assert "portal_holiday" in _tables() and "payments_holiday" not in _tables()
        Holiday = new_apps.get_model("portal", "Holiday")
        assert sorted(Holiday.objects.values_list("date", "name", "is_workday")) == [
            (datetime.date(2027, 1, 1), "元旦", False),
            (datetime.date(2027, 2, 20), "春节调休", True),
        ]
        # The same permission rows, now on portal's holiday: finance's grants are untouched.
        assert _finance_holiday_permissions(new_apps, "portal") == held
        ContentTypes = new_apps.get_model("contenttypes", "ContentType")
        assert not ContentTypes.objects.filter(app_label="payments", model="holiday").exists()
        entry = new_apps.get_model("portal", "AuditEntry").objects.get(action="admin.payments.holiday.add")
        assert (entry.target_type.app_label, entry.target_type.model) == ("portal", "holiday")

        back_apps = _migrate(BEFORE)
        assert "payments_holiday" in _tables() and "portal_holiday" not in _tables()
        assert back_apps.get_model("payments", "Holiday").objects.count() == 2
        assert _finance_holiday_permissions(back_apps, "payments") == held
    finally:
        _migrate(_latest())


@pytest.mark.django_db(transaction=True)
def test_portal_takes_over_grants_when_both_content_types_exist():
    """A database where portal's holiday permissions were created before the move: finance's
    grants go over to them and payments' content type goes away."""
    old_apps = _migrate(BEFORE)
    try:
        ContentTypes = old_apps.get_model("contenttypes", "ContentType")
        Permission = old_apps.get_model("auth", "Permission")
        early = ContentTypes.objects.create(app_label="portal", model="holiday")
        Permission.objects.create(content_type=early, codename="view_holiday", name="Can view holiday")

        new_apps = _migrate(AFTER)
        assert set(_finance_holiday_permissions(new_apps, "portal")) == PERMISSIONS
        assert list(
            new_apps.get_model("contenttypes", "ContentType")
            .objects.filter(model="holiday")
            .values_list("app_label", flat=True)
        ) == ["portal"]
    finally:
        _migrate(_latest())
