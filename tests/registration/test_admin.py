import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from portal.models import AuditEntry
from registration.models import Trainee, TraineeStatus
from registration.validators import id_number_mask
from tests.factories import (
    ApplicationFactory,
    CompleteTraineeFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:registration_trainee_changelist"


@pytest.fixture
def reviewer():
    return StaffFactory(role="reviewer")


@pytest.fixture
def finance():
    return StaffFactory(role="finance")


@pytest.fixture
def course_admin():
    return StaffFactory(role="course_admin")


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def application():
    return ApplicationFactory(unit_name="越秀示例商贸有限公司")


def post_action(client, action, trainees, **extra):
    data = {"action": action, "_selected_action": [t.pk for t in trainees], **extra}
    return client.post(reverse(CHANGELIST), data, follow=True)


def texts(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- list, search, filters ---------------------------------------------------------------------


def test_list_masks_id_numbers(reviewer_client, application, django_assert_max_num_queries):
    trainees = CompleteTraineeFactory.create_batch(5, application=application)
    with django_assert_max_num_queries(15):
        response = reviewer_client.get(reverse(CHANGELIST), {"_all": "1"})  # the whole list
    body = response.content.decode()
    assert response.status_code == 200
    for trainee in trainees:
        assert trainee.id_number not in body
        assert id_number_mask(trainee.id_number) in body


def test_list_query_count_does_not_grow(reviewer_client, application, django_assert_max_num_queries):
    CompleteTraineeFactory.create_batch(3, application=application)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        reviewer_client.get(reverse(CHANGELIST))
    CompleteTraineeFactory.create_batch(20, application=ApplicationFactory())
    with CaptureQueriesContext(connection) as large:
        reviewer_client.get(reverse(CHANGELIST))
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("field", ["name", "id_number", "mobile", "unit"])
def test_search(reviewer_client, application, field):
    wanted = TraineeFactory(application=application, name="欧阳测试")
    other = TraineeFactory(application=ApplicationFactory(unit_name="其他公司"), name="司马别人")
    term = {
        "name": "欧阳",
        "id_number": wanted.id_number.lower(),
        "mobile": wanted.mobile,
        "unit": "越秀示例",
    }[field]
    response = reviewer_client.get(reverse(CHANGELIST), {"q": term})
    shown = list(response.context["cl"].result_list)
    assert wanted in shown and other not in shown


def test_search_by_partial_id_number_reveals_nothing(reviewer_client, application):
    trainee = TraineeFactory(application=application)
    response = reviewer_client.get(reverse(CHANGELIST), {"q": trainee.id_number[:10]})
    assert list(response.context["cl"].result_list) == []


def test_filters(reviewer_client, application):
    approved = CompleteTraineeFactory(
        application=application, status=TraineeStatus.APPROVED, training_category="refresher"
    )
    submitted = TraineeFactory(application=application, certificate_type="safety_manager")
    other_programme = TraineeFactory(application=ApplicationFactory(programme=ProgrammeFactory()))

    def shown(**params):
        return set(reviewer_client.get(reverse(CHANGELIST), params).context["cl"].result_list)

    assert shown(status="approved") == {approved}
    assert shown(certificate_type="safety_manager") == {submitted}
    assert shown(training_category="refresher") == {approved}
    assert shown(programme__id__exact=other_programme.programme_id) == {other_programme}
    Trainee.objects.filter(pk=approved.pk).update(paid_at="2026-01-01T00:00:00Z")
    assert shown(paid="yes") == {approved}
    assert shown(paid="no") == {submitted, other_programme}


# -- detail page: full ID number, documents, attachments ----------------------------------------


def test_detail_shows_full_id_to_reviewer_and_audits_it(reviewer_client, reviewer, application):
    trainee = CompleteTraineeFactory(application=application)
    response = reviewer_client.get(reverse("admin:registration_trainee_change", args=[trainee.pk]))
    body = response.content.decode()
    assert trainee.id_number in body
    entry = AuditEntry.objects.get(action="trainee.view_full_id")
    assert entry.actor == reviewer and entry.target_id == str(trainee.pk)
    # documents through the protected staff URL, never a media URL
    for kind in ("photo", "id_front", "id_back"):
        assert reverse("registration:staff_document", args=[trainee.pk, kind]) in body
    assert "/media/" not in body
    assert reverse("registration:staff_attachment2_print", args=[trainee.pk]) in body
    # attachments 1 and 2 as on paper
    assert trainee.work_history in body and application.invoice_title in body
    assert application.invoice_tax_id in body


def test_detail_masks_id_without_permission(client, finance, application):
    trainee = CompleteTraineeFactory(application=application)
    client.force_login(finance)
    response = client.get(reverse("admin:registration_trainee_change", args=[trainee.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert trainee.id_number not in body
    assert id_number_mask(trainee.id_number) in body
    assert not AuditEntry.objects.filter(action="trainee.view_full_id").exists()


def test_permission_can_be_granted_individually(client, application):
    trainee = TraineeFactory(application=application)
    user = StaffFactory(role="finance")
    user.user_permissions.add(Permission.objects.get(codename="view_full_id_number"))
    client.force_login(user)
    response = client.get(reverse("admin:registration_trainee_change", args=[trainee.pk]))
    assert trainee.id_number in response.content.decode()


def test_no_status_field_is_editable(reviewer_client, application):
    trainee = CompleteTraineeFactory(application=application)
    url = reverse("admin:registration_trainee_change", args=[trainee.pk])
    response = reviewer_client.get(url)
    assert 'name="status"' not in response.content.decode()
    reviewer_client.post(url, {"status": "approved", "paid_at": "2026-01-01"})
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED and trainee.paid_at is None


def test_application_page_with_trainees_and_fee(reviewer_client, application):
    CompleteTraineeFactory(application=application, training_category="initial")
    CompleteTraineeFactory(application=application, training_category="refresher")
    TraineeFactory(application=application, status=TraineeStatus.WITHDRAWN)
    response = reviewer_client.get(reverse("admin:registration_application_change", args=[application.pk]))
    body = response.content.decode()
    assert "1,100.00" in body
    assert response.status_code == 200
    for trainee in application.trainees.all():
        assert trainee.id_number not in body


# -- actions -----------------------------------------------------------------------------------


def test_bulk_approve_reports_each_row(reviewer_client, application, django_capture_on_commit_callbacks):
    ready = CompleteTraineeFactory.create_batch(2, application=application)
    incomplete = TraineeFactory(application=application, name="未完成")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(reviewer_client, "approve_selected", [*ready, incomplete])
    messages = texts(response)
    assert any(ready[0].name in m and ready[1].name in m for m in messages)
    assert any(m.startswith("未完成") for m in messages)
    assert set(Trainee.objects.filter(status="approved")) == set(ready)
    incomplete.refresh_from_db()
    assert incomplete.status == TraineeStatus.SUBMITTED


def test_bulk_return_asks_for_a_reason_first(reviewer_client, application):
    trainees = CompleteTraineeFactory.create_batch(2, application=application)
    response = post_action(reviewer_client, "return_selected", trainees)
    assert response.templates[0].name == "admin/portal/action_reason.html"
    assert not Trainee.objects.filter(status="returned").exists()
    # empty reason: the form again
    response = post_action(reviewer_client, "return_selected", trainees, apply="1", reason="")
    assert response.templates[0].name == "admin/portal/action_reason.html"
    response = post_action(reviewer_client, "return_selected", trainees, apply="1", reason="照片不合格")
    assert Trainee.objects.filter(status="returned", status_reason="照片不合格").count() == 2
    assert len(texts(response)) == 1


def test_bulk_reject_reports_refused_rows(reviewer_client, application):
    open_one = CompleteTraineeFactory(application=application)
    approved = CompleteTraineeFactory(application=application, status=TraineeStatus.APPROVED, name="已通过")
    response = post_action(
        reviewer_client, "reject_selected", [open_one, approved], apply="1", reason="非本市单位"
    )
    messages = texts(response)
    assert any(open_one.name in m for m in messages)
    assert any(m.startswith("已通过") for m in messages)
    open_one.refresh_from_db()
    approved.refresh_from_db()
    assert open_one.status == "rejected" and approved.status == "approved"


def test_review_from_the_detail_page(reviewer_client, reviewer, application):
    trainee = CompleteTraineeFactory(application=application)
    url = reverse("admin:registration_trainee_review", args=[trainee.pk, "return"])
    assert reviewer_client.get(url).status_code == 200
    response = reviewer_client.post(url, {"reason": "请补充工作简历"})
    assert response.status_code == 302
    trainee.refresh_from_db()
    assert trainee.status == "returned" and trainee.reviewed_by == reviewer
    approve = reverse("admin:registration_trainee_review", args=[trainee.pk, "approve"])
    reviewer_client.post(approve)
    trainee.refresh_from_db()
    assert trainee.status == "returned"  # a returned registration waits for the trainee's correction


def test_finance_cannot_review(client, finance, application):
    trainee = CompleteTraineeFactory(application=application)
    client.force_login(finance)
    response = client.get(reverse(CHANGELIST), {"_all": "1"})
    assert response.status_code == 200
    form = response.context["action_form"]
    actions = [name for name, _label in form.fields["action"].choices] if form else []
    assert "approve_selected" not in actions and "return_selected" not in actions
    response = post_action(client, "approve_selected", [trainee])
    url = reverse("admin:registration_trainee_review", args=[trainee.pk, "approve"])
    assert client.post(url).status_code == 403
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED


def test_reviewer_sees_actions(reviewer_client):
    response = reviewer_client.get(reverse(CHANGELIST), {"_all": "1"})
    actions = [name for name, _label in response.context["action_form"].fields["action"].choices]
    assert {"approve_selected", "return_selected", "reject_selected"} <= set(actions)


def test_programme_permissions(client, reviewer, course_admin):
    programme = ProgrammeFactory()
    url = reverse("admin:registration_programme_change", args=[programme.pk])
    client.force_login(reviewer)
    assert client.get(reverse("admin:registration_programme_add")).status_code == 403
    assert 'name="name"' not in client.get(url).content.decode()
    client.force_login(course_admin)
    assert client.get(reverse("admin:registration_programme_add")).status_code == 200
    assert 'name="name"' in client.get(url).content.decode()


def test_outsider_staff_sees_nothing(client):
    client.force_login(StaffFactory())
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:registration_trainee_export")).status_code == 403


# -- Excel export ------------------------------------------------------------------------------


def export(client, **params):
    response = client.get(reverse("admin:registration_trainee_export"), params)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_export_follows_the_filters_and_masks(client, finance, application):
    approved = CompleteTraineeFactory(application=application, status=TraineeStatus.APPROVED)
    CompleteTraineeFactory(application=application)
    client.force_login(finance)
    rows = export(client, status="approved")
    assert len(rows) == 2
    assert approved.name in rows[1]
    assert id_number_mask(approved.id_number) in rows[1]
    assert approved.id_number not in rows[1]
    assert "800.00" in rows[1]
    assert AuditEntry.objects.get(action="trainee.exported").new_value["rows"] == 1


def test_export_full_ids_for_permitted_staff(reviewer_client, application):
    trainee = TraineeFactory(application=application)
    rows = export(reviewer_client, q=trainee.name)
    assert trainee.id_number in rows[1]


def test_changelist_links_to_export_with_filters(reviewer_client):
    response = reviewer_client.get(reverse(CHANGELIST), {"status": "approved"})
    assert reverse("admin:registration_trainee_export") + "?status=approved" in response.content.decode()


# -- demo data -----------------------------------------------------------------------------------


def test_demo_data_is_valid_idempotent_and_viewable(reviewer_client):
    from django.core.management.base import OutputWrapper

    from portal.validators import mobile_validate
    from registration import demo
    from registration.validators import id_number_validate, uscc_validate

    out = OutputWrapper(io.StringIO())
    demo.load(stdout=out)
    demo.load(stdout=out)
    trainees = list(Trainee.objects.select_related("application", "programme").order_by("row_number"))
    assert len(trainees) == 3
    assert {t.status for t in trainees} == {"approved", "submitted", "returned"}
    programme = trainees[0].programme
    assert (programme.fee_initial_fen, programme.fee_refresher_fen) == (80_000, 30_000)
    assert (programme.hours_initial, programme.hours_refresher, programme.study_window_days) == (32, 12, 30)
    assert programme.is_open_on(timezone.localdate())
    uscc_validate(trainees[0].application.invoice_tax_id)
    for trainee in trainees:
        assert id_number_validate(trainee.id_number) == trainee.id_number
        assert trainee.attachment2_complete
        assert mobile_validate(trainee.mobile) == trainee.mobile
    photo_url = reverse("registration:staff_document", args=[trainees[0].pk, "photo"])
    page = reviewer_client.get(reverse("admin:registration_trainee_change", args=[trainees[0].pk]))
    assert photo_url in page.content.decode()
    photo = reviewer_client.get(photo_url)
    assert photo.status_code == 200
    assert b"".join(photo.streaming_content if photo.streaming else [photo.content])[:2] == b"\xff\xd8"


# -- units registered outside the programme's area ---------------------------------------------


def test_reviewers_see_units_registered_outside_the_area(reviewer_client):
    from stdnum.cn import uscc

    code = "91440300000000777" + uscc.calc_check_digit("91440300000000777")
    outside = CompleteTraineeFactory(
        application__invoice_tax_id=code, application__outside_area=True, name="深圳学员"
    )
    inside = CompleteTraineeFactory(name="广州学员")
    # the application list: a column and a filter
    response = reviewer_client.get(
        reverse("admin:registration_application_changelist"), {"outside_area__exact": "1"}
    )
    assert [a.pk for a in response.context["cl"].result_list] == [outside.application_id]
    assert "登记地在本地区以外" in response.content.decode()
    # the trainee list: filtered through the application
    response = reviewer_client.get(reverse(CHANGELIST), {"application__outside_area__exact": "1"})
    assert [t.pk for t in response.context["cl"].result_list] == [outside.pk]
    # the marker on the application and trainee pages
    marker = (
        f"统一社会信用代码 {code} 登记在 440300（深圳市），不在广州市；联系人已确认本单位参训人员在广州市工作。"
        "审核通过前请核实。"
    )
    for url in (
        reverse("admin:registration_application_change", args=[outside.application_id]),
        reverse("admin:registration_trainee_change", args=[outside.pk]),
    ):
        html = reviewer_client.get(url).content.decode()
        assert 'class="area-flag">登记地在本地区以外。</strong>' in html and marker in html
    for url in (
        reverse("admin:registration_application_change", args=[inside.application_id]),
        reverse("admin:registration_trainee_change", args=[inside.pk]),
    ):
        assert "area-flag" not in reviewer_client.get(url).content.decode()


def test_programme_admin_sets_the_rules_of_the_notice(admin_client):
    programme = ProgrammeFactory()
    html = admin_client.get(
        reverse("admin:registration_programme_change", args=[programme.pk])
    ).content.decode()
    assert 'name="previous_certificate_required"' in html and 'name="area_code_prefix" value="4401"' in html
