"""A unit roster row of somebody already registered (issue #22, finding 5): accepted like any other
row, so the public form tells nobody who is registered, but flagged as a duplicate for reviewers,
never approved (so never billed or enrolled), and its person told about the attempt."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.models import AuditEntry
from registration.models import Trainee, TraineeStatus
from registration.services.applications import application_submit
from registration.services.attachment2 import trainee_attachment2_submit
from registration.services.payment import trainee_mark_paid
from registration.services.review import trainee_approve, trainee_reject, trainee_return
from tests.factories import (
    ALL_CONSENTS,
    CompleteTraineeFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
    applicant_data,
    id_number_make,
    image_bytes,
    mobile_make,
    roster_rows,
    upload,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:registration_trainee_changelist"


@pytest.fixture
def programme():
    return ProgrammeFactory()


@pytest.fixture
def reviewer():
    return StaffFactory(role="reviewer")


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def holder(programme):
    """A person registered by a unit, with their own mobile and e-mail on file."""
    return TraineeFactory(
        application__programme=programme,
        name="王持有",
        id_number=id_number_make(8001),
        mobile=mobile_make(8001),
        email="holder@example.org",
    )


def submit(programme, rows):
    return application_submit(
        programme=programme, applicant=applicant_data(), roster=rows, consents=("id_number",), ip="10.9.0.1"
    )


def duplicate_of(holder, *, n=8100, **overrides) -> Trainee:
    """The row of a unit roster naming ``holder``'s ID number (another mobile), with attachment 2
    complete, so that only its being a duplicate stands in the way of approval."""
    rows = roster_rows(1, start=n, id_number=holder.id_number, **overrides)
    trainee = submit(holder.programme, rows).trainees.get()
    return trainee_attachment2_submit(
        trainee=trainee,
        data={
            "education": "bachelor",
            "safety_years": "6",
            "work_unit": "广州示例贸易有限公司",
            "work_unit_address": "广州市天河区示例大道 100 号",
            "mailing_address": "广州市天河区示例大道 100 号",
            "landline": "",
            "email": "",
            "work_history": "2015 至今 安全主任",
            "declaration_name": trainee.name,
        },
        files={
            "photo": upload("photo.png", image_bytes(fmt="PNG"), "image/png"),
            "id_front": upload("front.jpg", image_bytes(800, 500)),
            "id_back": upload("back.jpg", image_bytes(800, 500)),
        },
        consents=ALL_CONSENTS,
        ip="10.9.0.2",
    )


# -- the flag ------------------------------------------------------------------------------------


def test_the_row_is_flagged_and_looks_like_any_other(programme, holder):
    rows = roster_rows(2, start=8200)
    rows[1]["id_number"] = holder.id_number
    fresh, duplicate = submit(programme, rows).trainees.order_by("row_number")
    assert (duplicate.is_duplicate, duplicate.duplicate_of, duplicate.duplicate_field) == (
        True,
        holder,
        "id_number",
    )
    assert duplicate.status == fresh.status == TraineeStatus.SUBMITTED
    assert not fresh.is_duplicate and fresh.duplicate_of is None


def test_a_duplicate_does_not_take_its_mobile_number_from_anybody(programme, holder):
    """Not live: the mobile typed on a duplicate row stays free for its real owner."""
    duplicate = duplicate_of(holder)
    later = submit(programme, roster_rows(1, start=8300, mobile=duplicate.mobile)).trainees.get()
    assert not later.is_duplicate and later.mobile == duplicate.mobile


# -- review --------------------------------------------------------------------------------------


def test_approving_a_duplicate_is_refused_with_the_reason(
    programme, holder, reviewer, sms_outbox, django_capture_on_commit_callbacks
):
    duplicate = duplicate_of(holder)
    assert duplicate.attachment2_complete
    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as excinfo:
        trainee_approve(trainee=duplicate, reviewer=reviewer)
    assert excinfo.value.messages == [
        f"{duplicate.name} 的报名与 王持有 ({holder.application.reference}) 重复（身份证号码相同，提交时该报名"
        "有效）：不能审核通过或退回修改。请填写原因后不予通过。"
    ]
    with pytest.raises(ValidationError):
        trainee_return(trainee=duplicate, reviewer=reviewer, reason="请补充")
    duplicate.refresh_from_db()
    assert duplicate.status == TraineeStatus.SUBMITTED and duplicate.reviewed_by is None
    assert sms_outbox == []
    # Never approved, so never billed (and so never enrolled).
    with pytest.raises(ValidationError):
        trainee_mark_paid(trainee=duplicate)
    assert duplicate.paid_at is None


def test_a_duplicate_is_rejected_with_the_reviewers_reason(
    programme, holder, reviewer, sms_outbox, django_capture_on_commit_callbacks
):
    duplicate = duplicate_of(holder)
    with django_capture_on_commit_callbacks(execute=True):
        trainee_reject(trainee=duplicate, reviewer=reviewer, reason="此人已报名")
    duplicate.refresh_from_db()
    assert duplicate.status == TraineeStatus.REJECTED and duplicate.status_reason == "此人已报名"
    holder.refresh_from_db()
    assert holder.status == TraineeStatus.SUBMITTED


def test_the_holder_is_told_on_the_mobile_and_e_mail_on_file(
    programme, holder, sms_outbox, django_capture_on_commit_callbacks
):
    typed = mobile_make(8400)
    with django_capture_on_commit_callbacks(execute=True):
        duplicate = submit(
            programme, roster_rows(1, start=8400, id_number=holder.id_number, email="typed@example.org")
        ).trainees.get()
    link = reverse("registration:attachment2", args=[holder.access_key])
    notices = [s.message for s in sms_outbox if s.mobile == holder.mobile]
    assert notices == [
        f"王持有，刚才有人使用您的身份证号码再次提交了{programme.name}的报名。"
        f"您已报名（{holder.application.reference}），因此未重复登记。"
        f"您的报名：http://127.0.0.1:8000{link} 如非您本人操作，无需处理。"
    ]
    assert [m.to for m in mail.outbox if holder.application.reference in m.body] == [["holder@example.org"]]
    # The typed mobile gets what every trainee of a roster gets, nothing about the holder.
    assert all(holder.application.reference not in s.message for s in sms_outbox if s.mobile == typed)
    entry = AuditEntry.objects.get(action="registration.duplicate_refused")
    assert entry.target_id == str(holder.pk) and entry.ip_address == "10.9.0.1"
    assert entry.new_value == {"field": "id_number", "duplicate_id": duplicate.pk}


# -- admin ---------------------------------------------------------------------------------------


def test_reviewers_find_duplicates_with_the_filter_and_the_marker(reviewer_client, programme, holder):
    duplicate = duplicate_of(holder)
    by_mobile = submit(programme, roster_rows(1, start=8500, mobile=holder.mobile)).trainees.get()

    def shown(**params):
        return set(reviewer_client.get(reverse(CHANGELIST), params).context["cl"].result_list)

    assert shown(duplicate="yes") == {duplicate, by_mobile}
    assert shown(duplicate="no") == {holder}
    html = reviewer_client.get(reverse(CHANGELIST), {"_all": "1"}).content.decode()
    link = reverse("admin:registration_trainee_change", args=[holder.pk])
    original = f"王持有 ({holder.application.reference})"
    assert (
        f'<strong class="duplicate-flag">重复于</strong> <a href="{link}">{original}</a> (身份证号码相同)'
        in html
    )
    assert (
        f'<strong class="duplicate-flag">重复于</strong> <a href="{link}">{original}</a> (手机号码相同)'
        in html
    )
    assert html.count("duplicate-flag") == 2


def test_the_duplicates_page_says_so_and_offers_only_reject(reviewer_client, holder):
    duplicate = duplicate_of(holder)
    page = reviewer_client.get(reverse("admin:registration_trainee_change", args=[duplicate.pk]))
    html = page.content.decode()
    assert (
        "为使报名表不向任何人透露谁已报名，此名单行已被静默接收。它不能审核通过：请填写原因后不予通过。"
        in html
    )
    assert page.context["review_actions"] == [("reject", "不予通过")]
    fresh = reviewer_client.get(reverse("admin:registration_trainee_change", args=[holder.pk]))
    assert "duplicate-flag" not in fresh.content.decode()
    assert [decision for decision, _label in fresh.context["review_actions"]] == [
        "approve",
        "return",
        "reject",
    ]


def test_bulk_approve_refuses_the_duplicate_and_approves_the_others(reviewer_client, programme, holder):
    duplicate = duplicate_of(holder)
    other = CompleteTraineeFactory(application__programme=programme, name="李完整")
    response = reviewer_client.post(
        reverse(CHANGELIST),
        {"action": "approve_selected", "_selected_action": [duplicate.pk, other.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"已审核通过（1 人）：{other.name}",
        f"{duplicate.name}：未处理：{duplicate.name} 的报名与 王持有 ({holder.application.reference}) 重复"
        "（身份证号码相同，提交时该报名有效）：不能审核通过或退回修改。请填写原因后不予通过。",
    ]
    duplicate.refresh_from_db()
    other.refresh_from_db()
    assert duplicate.status == TraineeStatus.SUBMITTED and other.status == TraineeStatus.APPROVED
