"""Every plain admin add / change / delete writes an audit entry (portal.admin_audit)."""

import datetime
import json

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.admin_audit import HIDDEN, AuditedModelAdmin, form_changes
from portal.models import AuditEntry, Holiday, User
from portal.roles import ROLES
from tests.factories import AuditEntryFactory, CourseFactory, LessonFactory, ProgrammeFactory, StaffFactory
from tests.security.admin_forms import changeform_data

pytestmark = pytest.mark.django_db

AUDITED_APPS = {"portal", "registration", "payments", "learning", "exams", "certificates", "auth"}


def entries(action: str):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_every_model_admin_of_the_portal_apps_is_audited():
    missing = [
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in AUDITED_APPS and not isinstance(model_admin, AuditedModelAdmin)
    ]
    assert not missing, missing
    assert {m._meta.app_label for m in admin.site._registry} >= AUDITED_APPS


def test_change_records_who_what_old_and_new_values_and_address(admin_client, admin_user):
    programme = ProgrammeFactory(fee_initial_fen=80_000, name="2026 年度培训")
    url = reverse("admin:registration_programme_change", args=[programme.pk])
    page = admin_client.get(url)
    data = changeform_data(page, fee_initial_fen="90000", name="2026 年度培训（修订）")
    response = admin_client.post(url, data, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors

    (entry,) = entries("admin.registration.programme.change")
    assert entry.actor == admin_user and entry.actor_repr == str(admin_user)
    assert entry.target_id == str(programme.pk) and entry.target_type.model == "programme"
    assert entry.old_value == {"fee_initial_fen": 80_000, "name": "2026 年度培训"}
    assert entry.new_value == {"fee_initial_fen": 90_000, "name": "2026 年度培训（修订）"}
    assert entry.ip_address == "10.1.2.3"


def test_saving_without_a_change_writes_nothing(admin_client):
    programme = ProgrammeFactory()
    url = reverse("admin:registration_programme_change", args=[programme.pk])
    response = admin_client.post(url, changeform_data(admin_client.get(url)))
    assert response.status_code == 302
    assert not entries("admin.registration.programme.change")


def test_add_and_delete_and_bulk_delete(admin_client):
    add = reverse("admin:portal_holiday_add")
    response = admin_client.post(
        add, changeform_data(admin_client.get(add), date="2027-10-01", name="国庆节", is_workday="")
    )
    assert response.status_code == 302
    holiday = Holiday.objects.get(date=datetime.date(2027, 10, 1))
    (added,) = entries("admin.portal.holiday.add")
    assert added.old_value is None and added.new_value["name"] == "国庆节"
    assert added.new_value["date"] == "2027-10-01" and added.target_id == str(holiday.pk)

    delete = reverse("admin:portal_holiday_delete", args=[holiday.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    (deleted,) = entries("admin.portal.holiday.delete")
    assert deleted.target_id == str(holiday.pk) and deleted.old_value["name"] == "国庆节"
    assert not Holiday.objects.filter(pk=holiday.pk).exists()

    others = [Holiday.objects.create(date=datetime.date(2027, 1, d), name=f"假日{d}") for d in (1, 2)]
    response = admin_client.post(
        reverse("admin:portal_holiday_changelist"),
        {"action": "delete_selected", "_selected_action": [h.pk for h in others], "post": "yes"},
    )
    assert response.status_code == 302
    bulk = entries("admin.portal.holiday.delete")[1:]
    assert sorted(e.target_id for e in bulk) == sorted(str(h.pk) for h in others)
    assert {e.old_value["name"] for e in bulk} == {"假日1", "假日2"}


def test_inline_rows_are_audited(admin_client):
    course = CourseFactory(title="法律法规")
    lesson = LessonFactory(course=course, title="第一讲")
    url = reverse("admin:learning_course_change", args=[course.pk])
    page = admin_client.get(url)
    data = changeform_data(page)
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    data[f"{prefix}-0-title"] = "第一讲（修订）"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    (entry,) = entries("admin.learning.lesson.change")
    assert entry.target_id == str(lesson.pk)
    assert entry.old_value == {"title": "第一讲"} and entry.new_value == {"title": "第一讲（修订）"}


def test_files_are_recorded_by_name_only(admin_client):
    course = CourseFactory()
    add = reverse("admin:learning_lesson_add")
    content = b"%PDF-1.4\n" + b"secret document body " * 50
    data = changeform_data(
        admin_client.get(add),
        course=str(course.pk),
        code="law-1",
        order="1",
        title="安全生产法",
        kind="document",
        class_hours="1",
        is_active="on",
    )
    data["document"] = SimpleUploadedFile("安全生产法.pdf", content, "application/pdf")
    response = admin_client.post(add, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    (entry,) = entries("admin.learning.lesson.add")
    stored = entry.new_value["document"]
    assert stored.startswith("learning/lessons/") and stored.endswith(".pdf")
    assert "secret document body" not in json.dumps(entry.new_value)


def test_passwords_are_never_logged(admin_client):
    add = reverse("admin:portal_user_add")
    data = changeform_data(
        admin_client.get(add),
        mobile="13900001234",
        name="新员工",
        usable_password="true",
        password1="Very-secret-pass-2026",
        password2="Very-secret-pass-2026",
    )
    assert admin_client.post(add, data).status_code == 302
    user = User.objects.get(mobile="13900001234")
    (entry,) = entries("admin.portal.user.add")
    assert entry.new_value["password1"] == HIDDEN and entry.new_value["mobile"] == "13900001234"
    assert "Very-secret" not in json.dumps(entry.new_value)

    # Groups are changed on the user's page: recorded by name; deleting keeps no hash either.
    url = reverse("admin:portal_user_change", args=[user.pk])
    reviewer = Group.objects.get(name="reviewer")
    data = changeform_data(admin_client.get(url), groups=[str(reviewer.pk)], is_staff="on")
    assert admin_client.post(url, data).status_code == 302
    (change,) = entries("admin.portal.user.change")
    assert change.old_value == {"groups": [], "is_staff": False}
    assert change.new_value == {"groups": [f"reviewer [#{reviewer.pk}]"], "is_staff": True}

    assert (
        admin_client.post(reverse("admin:portal_user_delete", args=[user.pk]), {"post": "yes"}).status_code
        == 302
    )
    (deleted,) = entries("admin.portal.user.delete")
    assert deleted.old_value["password"] == HIDDEN
    assert user.password not in json.dumps(deleted.old_value)


def test_a_password_set_by_staff_is_audited_without_the_password(admin_client, admin_user):
    user = StaffFactory()
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    data = {"password1": "Fresh-secret-2026x", "password2": "Fresh-secret-2026x", "usable_password": "true"}
    assert admin_client.post(url, data).status_code == 302
    (entry,) = entries("admin.portal.user.password")
    assert entry.actor == admin_user and entry.target_id == str(user.pk)
    assert entry.new_value == {"password": HIDDEN}
    user.refresh_from_db()
    assert user.check_password("Fresh-secret-2026x")


def test_role_permission_changes_are_audited(admin_client):
    group = Group.objects.get(name="finance")
    url = reverse("admin:auth_group_change", args=[group.pk])
    before = set(group.permissions.values_list("pk", flat=True))
    data = changeform_data(admin_client.get(url))
    data["permissions"] = [str(pk) for pk in sorted(before)[1:]]
    assert admin_client.post(url, data).status_code == 302
    (entry,) = entries("admin.auth.group.change")
    assert len(entry.old_value["permissions"]) == len(before)
    assert len(entry.new_value["permissions"]) == len(before) - 1


def test_id_numbers_are_masked_and_secrets_hidden_in_form_changes():
    from django import forms

    class Form(forms.Form):
        id_number = forms.CharField()
        access_key = forms.CharField()
        note = forms.CharField()

    form = Form({"id_number": "44010619800101001X", "access_key": "k" * 30, "note": "<b>x</b>"})
    form.initial = {"id_number": "440106198001010028", "access_key": "old", "note": ""}
    assert form.is_valid()
    old, new = form_changes(form, adding=False)
    assert new == {"id_number": "4401**********001X", "access_key": HIDDEN, "note": "<b>x</b>"}
    assert old["id_number"] == "4401**********0028" and old["access_key"] == HIDDEN


def test_the_change_and_its_entry_share_one_transaction(admin_client, monkeypatch):
    import portal.admin_audit

    programme = ProgrammeFactory(exam_resits=2)
    url = reverse("admin:registration_programme_change", args=[programme.pk])
    data = changeform_data(admin_client.get(url), exam_resits="5")

    def broken(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(portal.admin_audit, "audit_record", broken)
    with pytest.raises(RuntimeError):
        admin_client.post(url, data)
    programme.refresh_from_db()
    assert programme.exam_resits == 2  # rolled back with the failed audit entry


@pytest.mark.parametrize("role", [*ROLES, "superuser"])
def test_nobody_can_add_change_or_delete_audit_entries(client, role):
    user = (
        User.objects.create_superuser(mobile="13900008888", name="超级", password="x-pass-12345")
        if role == "superuser"
        else StaffFactory(role=role)
    )
    client.force_login(user)
    entry = AuditEntryFactory(action="payment.confirmed", reason="原始记录")
    base = "admin:portal_auditentry_"
    assert client.get(reverse(base + "changelist")).status_code == 200
    assert client.get(reverse(base + "add")).status_code == 403
    assert client.post(reverse(base + "add"), {"action": "forged"}).status_code == 403
    change = reverse(base + "change", args=[entry.pk])
    assert client.get(change).status_code == 200  # read-only page
    client.post(change, {"action": "forged", "reason": "edited"})
    assert client.get(reverse(base + "delete", args=[entry.pk])).status_code == 403
    assert client.post(reverse(base + "delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    client.post(
        reverse(base + "changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    entry.refresh_from_db()
    assert (entry.action, entry.reason) == ("payment.confirmed", "原始记录")
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    assert not AuditEntry.objects.filter(action="forged").exists()
