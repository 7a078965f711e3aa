"""The reviewers' lists open on what needs action (status first, as a badge) and the preset return
reasons (registration.ReturnReason, editable) offered beside free text on every return / reject."""

import re

import pytest
from django.urls import reverse

from registration.models import ReturnReason, Trainee, TraineeStatus
from registration.selectors import return_reasons_active
from tests.factories import (
    ApplicationFactory,
    CompleteTraineeFactory,
    ReturnReasonFactory,
    StaffFactory,
    TraineeFactory,
)

pytestmark = pytest.mark.django_db

TRAINEES = "admin:registration_trainee_changelist"
APPLICATIONS = "admin:registration_application_changelist"


@pytest.fixture
def reviewer_client(client):
    client.force_login(StaffFactory(role="reviewer"))
    return client


def _columns(response) -> list[str]:
    thead = response.content.decode().split("<thead>", 1)[1].split("</thead>", 1)[0]
    return re.findall(r'<th scope="col" class="[^"]*\bcolumn-(\w+)', thead)


def _cell(response, obj_pk: int, column: str) -> str:
    """The HTML of one cell of the row of ``obj_pk``."""
    body = response.content.decode()
    link = body.index(f"/{obj_pk}/change/")
    row = body[body.rfind("<tr", 0, link) : body.index("</tr>", link)]
    return row.split(f'class="field-{column}', 1)[1].split("</t", 1)[0]


# -- the trainee list ---------------------------------------------------------------------------


def test_trainee_list_opens_on_registrations_awaiting_review(reviewer_client):
    waiting = TraineeFactory(name="待审学员")
    TraineeFactory(name="已过学员", status=TraineeStatus.APPROVED)
    response = reviewer_client.get(reverse(TRAINEES))
    assert response.status_code == 302 and response.url.endswith("?status__exact=submitted")
    page = reviewer_client.get(response.url)
    assert [t.name for t in page.context["cl"].result_list] == [waiting.name]
    assert _columns(page)[0] == "status_display"
    assert 'class="status-badge status-badge--todo"' in _cell(page, waiting.pk, "status_display")


def test_trainee_list_status_badges_and_short_columns(reviewer_client, django_assert_max_num_queries):
    application = ApplicationFactory()
    rows = {
        status: CompleteTraineeFactory(application=application, status=status)
        for status in (TraineeStatus.SUBMITTED, TraineeStatus.RETURNED, TraineeStatus.APPROVED)
    }
    with django_assert_max_num_queries(16):
        page = reviewer_client.get(reverse(TRAINEES), {"_all": "1"})
    tones = {
        TraineeStatus.SUBMITTED: "todo",
        TraineeStatus.RETURNED: "warning",
        TraineeStatus.APPROVED: "done",
    }
    for status, trainee in rows.items():
        assert f"status-badge--{tones[status]}" in _cell(page, trainee.pk, "status_display")
    assert _columns(page) == [
        "status_display",
        "name",
        "identity",
        "unit_name",
        "certificate_display",
        "attachment2_done",
        "paid",
        "submitted_on",
    ]


def test_attachment2_filter(reviewer_client):
    done = CompleteTraineeFactory()
    not_done = TraineeFactory()
    page = reviewer_client.get(reverse(TRAINEES), {"status__exact": "submitted", "attachment2": "complete"})
    assert [t.pk for t in page.context["cl"].result_list] == [done.pk]
    page = reviewer_client.get(reverse(TRAINEES), {"attachment2": "incomplete"})
    assert [t.pk for t in page.context["cl"].result_list] == [not_done.pk]


# -- the application list (报名表) ----------------------------------------------------------------


def test_application_list_has_status_and_attachment2_columns_and_opens_on_review(reviewer_client):
    waiting = ApplicationFactory(unit_name="待审单位")
    CompleteTraineeFactory(application=waiting)
    TraineeFactory(application=waiting)
    TraineeFactory(application=waiting, status=TraineeStatus.APPROVED)
    reviewed = ApplicationFactory(unit_name="已审单位")
    CompleteTraineeFactory(application=reviewed, status=TraineeStatus.APPROVED)
    returned = ApplicationFactory(unit_name="退回单位")
    TraineeFactory(application=returned, status=TraineeStatus.RETURNED)

    response = reviewer_client.get(reverse(APPLICATIONS))
    assert response.status_code == 302 and response.url.endswith("?review=pending")
    page = reviewer_client.get(response.url)
    assert [a.pk for a in page.context["cl"].result_list] == [waiting.pk]
    assert _columns(page)[0] == "review_status"
    status = _cell(page, waiting.pk, "review_status")
    assert "status-badge--todo" in status and "2" in status
    assert _cell(page, waiting.pk, "attachment2_count").endswith(">1 / 3")

    everything = reviewer_client.get(reverse(APPLICATIONS), {"_all": "1"})
    assert {a.pk for a in everything.context["cl"].result_list} == {waiting.pk, reviewed.pk, returned.pk}
    assert "status-badge--done" in _cell(everything, reviewed.pk, "review_status")
    assert "count-complete" in _cell(everything, reviewed.pk, "attachment2_count")
    assert "status-badge--warning" in _cell(everything, returned.pk, "review_status")


# -- preset return reasons ----------------------------------------------------------------------


def test_the_migration_seeds_presets_and_only_active_ones_are_offered():
    seeded = return_reasons_active()
    assert len(seeded) >= 5 and all(seeded)
    hidden = ReturnReason.objects.get(text=seeded[0])
    hidden.active = False
    hidden.save()
    first = ReturnReasonFactory(text="首选理由", order=0)
    assert return_reasons_active()[0] == first.text
    assert hidden.text not in return_reasons_active()


def test_trainee_page_return_offers_presets_plus_free_text(reviewer_client):
    trainee = CompleteTraineeFactory()
    photo = ReturnReasonFactory(text="照片须为白底彩色证件照", order=0)
    ReturnReasonFactory(text="停用的理由", active=False)
    url = reverse("admin:registration_trainee_review", args=[trainee.pk, "return"])
    page = reviewer_client.get(url).content.decode()
    assert f'value="{photo.text}"' in page and "停用的理由" not in page
    # Nothing ticked, nothing written: asked again, nothing changes.
    again = reviewer_client.post(url, {"reason": ""})
    assert again.status_code == 200 and again.context["form"].errors
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED
    # A preset and free text: both reach the trainee's reason.
    reviewer_client.post(url, {"presets": [photo.text], "reason": "请重新上传"})
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.RETURNED
    assert trainee.status_reason == "照片须为白底彩色证件照；请重新上传"


def test_trainee_page_reject_with_a_preset_only(reviewer_client):
    trainee = TraineeFactory()
    duplicate = ReturnReasonFactory(text="重复报名（预设）", order=0)
    url = reverse("admin:registration_trainee_review", args=[trainee.pk, "reject"])
    reviewer_client.post(url, {"presets": [duplicate.text]})
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.REJECTED and trainee.status_reason == duplicate.text


def test_a_posted_text_that_is_no_preset_is_refused(reviewer_client):
    trainee = TraineeFactory()
    url = reverse("admin:registration_trainee_review", args=[trainee.pk, "return"])
    response = reviewer_client.post(url, {"presets": ["伪造的理由"]})
    assert response.status_code == 200 and response.context["form"].errors
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED


def test_bulk_return_offers_presets(reviewer_client):
    trainees = CompleteTraineeFactory.create_batch(2)
    preset = ReturnReasonFactory(text="身份证复印件不清晰（预设）", order=0)
    data = {"action": "return_selected", "_selected_action": [t.pk for t in trainees]}
    step = reviewer_client.post(reverse(TRAINEES), data)
    assert f'value="{preset.text}"' in step.content.decode()
    reviewer_client.post(reverse(TRAINEES), {**data, "apply": "1", "presets": [preset.text]})
    assert Trainee.objects.filter(status=TraineeStatus.RETURNED, status_reason=preset.text).count() == 2


def test_reviewers_keep_the_presets_in_admin(reviewer_client):
    assert reviewer_client.get(reverse("admin:registration_returnreason_changelist")).status_code == 200
    response = reviewer_client.post(
        reverse("admin:registration_returnreason_add"), {"text": "新增的理由", "order": 5, "active": "on"}
    )
    assert response.status_code == 302
    assert "新增的理由" in return_reasons_active()
