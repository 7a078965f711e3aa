"""The review queue's claims: a reviewer working through the queue holds the trainee shown to them
for a few minutes, so that two reviewers are not shown the same trainee. A claim is a cache entry
(shared by every web process: Redis in production), not a row lock: the decision itself still goes
through :mod:`registration.services.review`, which locks the row and refuses a trainee decided
meanwhile."""

from django.core.cache import cache

from portal.models import User

from ..models import Trainee, TraineeStatus
from ..selectors import trainees_review_queue

CLAIM_SECONDS = 300
CANDIDATES = 50


def _claim_key(trainee_id: int) -> str:
    return f"review-queue:claim:{trainee_id}"


def trainee_review_claim(*, trainee_id: int, reviewer: User) -> bool:
    """Hold the trainee for ``reviewer`` (renewed when they already hold it); ``False`` when
    another reviewer holds it."""
    key = _claim_key(trainee_id)
    if cache.add(key, reviewer.pk, CLAIM_SECONDS):
        return True
    if cache.get(key) == reviewer.pk:
        cache.touch(key, CLAIM_SECONDS)
        return True
    return False


def trainee_review_release(*, trainee_id: int, reviewer: User) -> None:
    """Let the trainee go back to the queue (only a claim ``reviewer`` holds)."""
    key = _claim_key(trainee_id)
    if cache.get(key) == reviewer.pk:
        cache.delete(key)


def trainee_review_next(
    *, reviewer: User, programme_id: int | None = None, skipped: list[int] | tuple = ()
) -> Trainee | None:
    """The oldest trainee awaiting review that no other reviewer holds (and ``reviewer`` did not
    skip), claimed for ``reviewer``; ``None`` when the queue is empty for them."""
    candidates = list(
        trainees_review_queue(programme_id=programme_id)
        .exclude(pk__in=list(skipped))
        .values_list("pk", flat=True)[:CANDIDATES]
    )
    holders = cache.get_many([_claim_key(pk) for pk in candidates])
    for pk in candidates:
        holder = holders.get(_claim_key(pk))
        if holder not in (None, reviewer.pk):
            continue
        if not trainee_review_claim(trainee_id=pk, reviewer=reviewer):
            continue
        trainee = (
            Trainee.objects.select_related("application", "programme", "duplicate_of__application")
            .filter(pk=pk, status=TraineeStatus.SUBMITTED)
            .first()
        )
        if trainee is not None:
            return trainee
        trainee_review_release(trainee_id=pk, reviewer=reviewer)  # decided since the list was read
    return None
