"""The review queue (issue #20 point 4): the oldest complete registration first, the decisions through
the review services (audited, the notice queued), the preset reasons, claims between reviewers."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEntry
from registration.models import ReturnReason, Trainee, TraineeStatus
from registration.services.review_queue import trainee_review_next
from tests.factories import (
    ApplicationFactory,
    CompleteTraineeFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
)

pytestmark = pytest.mark.django_db

QUEUE = "admin:registration_trainee_review_queue"


@pytest.fixture
def reviewer():
    return StaffFactory(role="reviewer")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _waiting(days_ago: int, **fields) -> Trainee:
    return CompleteTraineeFactory(
        status_changed_at=timezone.now() - datetime.timedelta(days=days_ago), **fields
    )


def test_the_oldest_complete_registration_comes_first(reviewer):
    newer, older = _waiting(1), _waiting(3)
    TraineeFactory(status_changed_at=timezone.now() - datetime.timedelta(days=9))  # attachment 2 not done
    _waiting(5, status=TraineeStatus.APPROVED)
    response = _client(reviewer).get(reverse(QUEUE))
    assert response.status_code == 200
    assert response.context["trainee"] == older
    page = response.content.decode()
    assert "2 份报名待审核" in page
    assert 'data-shortcut="a"' in page and 'src="/static/registration/review_queue.js"' in page
    # Attachments 2 and 1 and the documents, as on the trainee page (full ID copies for reviewers).
    assert "attachment2-title" in page and "attachment1-title" in page
    assert reverse("registration:staff_document", args=[older.pk, "id_front"]) in page
    assert newer.name not in page


def test_programme_filter(reviewer):
    first, second = ProgrammeFactory(), ProgrammeFactory()
    _waiting(5, application=ApplicationFactory(programme=first))
    wanted = _waiting(1, application=ApplicationFactory(programme=second))
    response = _client(reviewer).get(reverse(QUEUE) + f"?programme={second.pk}")
    assert response.context["trainee"] == wanted


def test_approve_calls_the_service_and_moves_to_the_next(reviewer, django_capture_on_commit_callbacks):
    first, second = _waiting(2), _waiting(1)
    client = _client(reviewer)
    client.get(reverse(QUEUE))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse(QUEUE), {"trainee": first.pk, "decision": "approve"})
    assert response.status_code == 302 and response["Location"] == reverse(QUEUE)
    first.refresh_from_db()
    assert first.status == TraineeStatus.APPROVED and first.reviewed_by == reviewer
    entry = AuditEntry.objects.get(action="trainee.approved", target_id=str(first.pk))
    assert entry.actor == reviewer and entry.new_value == {"status": "approved"}
    assert callbacks  # the notice to the unit and the trainee, queued on commit by the service
    following = client.get(reverse(QUEUE))
    assert following.context["trainee"] == second
    assert f"已审核通过：{first.name}。" in [str(m) for m in following.context["messages"]]


def test_return_with_a_preset_reason_and_free_text(reviewer):
    trainee = _waiting(1)
    preset, _new = ReturnReason.objects.get_or_create(
        text="照片背景不是纯色，请重新上传", defaults={"order": 0}
    )
    response = _client(reviewer).post(
        reverse(QUEUE),
        {"trainee": trainee.pk, "decision": "return", "presets": [preset.text], "reason": "请重拍"},
    )
    assert response.status_code == 302
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.RETURNED
    assert trainee.status_reason == f"{preset.text}；请重拍"
    assert (
        AuditEntry.objects.get(action="trainee.returned", target_id=str(trainee.pk)).reason
        == trainee.status_reason
    )


def test_reject_without_a_reason_shows_the_same_trainee_again(reviewer):
    trainee = _waiting(1)
    response = _client(reviewer).post(reverse(QUEUE), {"trainee": trainee.pk, "decision": "reject"})
    assert response.status_code == 200
    assert response.context["trainee"] == trainee
    refusal = response.context["form"].non_field_errors()
    assert refusal and refusal[0] in response.content.decode()  # ReasonForm's "tick or write a reason"
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED
    assert not AuditEntry.objects.filter(action="trainee.rejected").exists()


def test_two_reviewers_are_not_shown_the_same_trainee(reviewer):
    first, second = _waiting(2), _waiting(1)
    other = StaffFactory(role="reviewer")
    assert _client(reviewer).get(reverse(QUEUE)).context["trainee"] == first
    assert _client(other).get(reverse(QUEUE)).context["trainee"] == second
    # Reloading keeps one's own trainee; a third reviewer finds the queue empty for them.
    assert _client(reviewer).get(reverse(QUEUE)).context["trainee"] == first
    third = _client(StaffFactory(role="reviewer")).get(reverse(QUEUE))
    assert third.context["trainee"] is None
    assert "队列已空：没有待审核的报名。" in third.content.decode()


def test_a_trainee_reviewed_meanwhile_gives_a_clear_message(reviewer):
    trainee = _waiting(1)
    client = _client(reviewer)
    client.get(reverse(QUEUE))
    other = StaffFactory(role="reviewer")
    _client(other).post(
        reverse("admin:registration_trainee_review", args=[trainee.pk, "reject"]), {"reason": "重复报名"}
    )
    response = client.post(reverse(QUEUE), {"trainee": trainee.pk, "decision": "approve"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"{trainee.name} 已由他人审核（现为“不予通过”），本次未作更改。以下是下一位。"
    ]
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.REJECTED and trainee.reviewed_by == other
    decisions = AuditEntry.objects.filter(
        target_id=str(trainee.pk), action__in=["trainee.approved", "trainee.returned", "trainee.rejected"]
    )
    assert list(decisions.values_list("action", flat=True)) == ["trainee.rejected"]


def test_skip_shows_the_next_and_restart_brings_it_back(reviewer):
    first, second = _waiting(2), _waiting(1)
    client = _client(reviewer)
    client.post(reverse(QUEUE), {"trainee": first.pk, "decision": "skip"})
    assert client.get(reverse(QUEUE)).context["trainee"] == second
    client.post(reverse(QUEUE), {"trainee": second.pk, "decision": "skip"})
    empty = client.get(reverse(QUEUE))
    assert empty.context["trainee"] is None and "您跳过了 2 份报名。" in empty.content.decode()
    client.post(reverse(QUEUE), {"restart": "1"})
    assert client.get(reverse(QUEUE)).context["trainee"] == first
    first.refresh_from_db()
    assert first.status == TraineeStatus.SUBMITTED


def test_only_reviewers(client):
    trainee = _waiting(1)
    client.force_login(StaffFactory(role="finance"))
    assert client.get(reverse(QUEUE)).status_code == 403
    assert client.post(reverse(QUEUE), {"trainee": trainee.pk, "decision": "approve"}).status_code == 403
    trainee.refresh_from_db()
    assert trainee.status == TraineeStatus.SUBMITTED


def test_full_id_view_is_audited_for_reviewers(reviewer):
    trainee = _waiting(1)
    _client(reviewer).get(reverse(QUEUE))
    entry = AuditEntry.objects.get(action="trainee.view_full_id", target_id=str(trainee.pk))
    assert entry.new_value["what"] == "admin_review_queue"


def test_queue_page_queries_do_not_grow_with_the_roster(reviewer, django_assert_max_num_queries):
    client = _client(reviewer)
    small = ApplicationFactory()
    _waiting(3, application=small)
    client.get(reverse(QUEUE))  # warm the session and permission caches
    with django_assert_max_num_queries(24):
        assert client.get(reverse(QUEUE)).status_code == 200
    big = ApplicationFactory()
    for days in range(6):
        _waiting(2 - days / 10, application=big)
    Trainee.objects.filter(application=small).update(status=TraineeStatus.APPROVED)
    trainee_review_next(reviewer=reviewer)  # claim the big application's first row
    with django_assert_max_num_queries(24):
        response = client.get(reverse(QUEUE))
    assert response.context["trainee"].application == big
    assert len(response.context["roster"]) == 6


def test_queue_page_in_english(reviewer, settings):
    trainee = _waiting(1)
    client = _client(reviewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse(QUEUE)).content.decode()
    assert "1 registration awaiting review" in page and trainee.name in page
    assert "Keys: A approve, R return for correction, X reject, N skip to the next one." in page
