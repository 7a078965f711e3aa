"""The staff review queue of identity checks in admin (issue #23)."""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from learning.models import IdentityCheck, IdentityDecision, IdentityMethod, ProgrammeStudyRule
from learning.services import identity
from portal.models import AuditEntry
from tests.factories import EnrollmentFactory, StaffFactory
from tests.factories.faces import face_photo_bytes, other_frames

pytestmark = pytest.mark.django_db


@pytest.fixture
def review_case(django_capture_on_commit_callbacks):
    """A trainee whose two checks failed (another person in front of the camera): sent to review."""
    enrollment = EnrollmentFactory()
    enrollment.trainee.photo.save("photo.jpg", ContentFile(face_photo_bytes()), save=True)
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme,
        daily_cap_hours=Decimal(8),
        identity_mode="face",
        identity_max_failures=2,
    )
    identity.identity_method_choose(enrollment=enrollment, method=IdentityMethod.FACE)
    for _ in range(2):
        check = identity.identity_check_request(enrollment=enrollment, context="study")
        first, second = other_frames()
        with django_capture_on_commit_callbacks(execute=True):
            identity.identity_snapshot_submit(
                check=check, user_id=enrollment.user_id, first=first, second=second
            )
    check.refresh_from_db()
    assert check.review_requested_at is not None
    return check


def test_the_queue_shows_the_snapshots_beside_the_photo(client, review_case, django_assert_max_num_queries):
    client.force_login(StaffFactory(role="reviewer"))
    changelist = reverse("admin:learning_identitycheck_changelist")
    with django_assert_max_num_queries(20):
        response = client.get(changelist + "?review=waiting")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [review_case]
    page = client.get(reverse("admin:learning_identitycheck_change", args=[review_case.pk])).content.decode()
    for which in ("photo", "first", "second"):
        assert reverse("admin:learning_identitycheck_image", args=[review_case.pk, which]) in page
    assert 'name="decision" value="approve"' in page
    image = client.get(reverse("admin:learning_identitycheck_image", args=[review_case.pk, "first"]))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content)[:2] == b"\xff\xd8"


def test_reject_needs_a_reason_and_is_audited(client, review_case):
    reviewer = StaffFactory(role="reviewer")
    client.force_login(reviewer)
    url = reverse("admin:learning_identitycheck_review", args=[review_case.pk])
    client.post(url, {"decision": "reject", "reason": ""})
    review_case.refresh_from_db()
    assert review_case.decision == IdentityDecision.FAILED
    client.post(url, {"decision": "reject", "reason": "照片与本人不符"})
    review_case.refresh_from_db()
    assert (review_case.decision, review_case.reviewed_by) == (IdentityDecision.STAFF_REJECTED, reviewer)
    entry = AuditEntry.objects.get(action="identity.check_reviewed")
    assert (entry.actor, entry.reason) == (reviewer, "照片与本人不符")


def test_staff_without_the_permission_see_nothing(client, review_case):
    client.force_login(StaffFactory(role="finance"))
    assert (
        client.get(reverse("admin:learning_identitycheck_image", args=[review_case.pk, "first"])).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:learning_identitycheck_review", args=[review_case.pk]), {"decision": "approve"}
        ).status_code
        == 403
    )
    review_case.refresh_from_db()
    assert review_case.decision == IdentityDecision.FAILED
    assert IdentityCheck.objects.filter(decision=IdentityDecision.STAFF_APPROVED).count() == 0
