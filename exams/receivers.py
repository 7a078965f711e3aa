"""Signal receivers: react to upstream events (no business logic here)."""


def exam_photo_reviewed_annul_attempt(
    sender, *, attempt_id: int | None, approved: bool, reason: str, actor=None, **kwargs
) -> bool:
    """``learning.signals.exam_photo_reviewed`` (inside the review's transaction): a rejected exam photo
    annuls the attempt's pass (returns whether it did: learning then tells the trainee)."""
    from .services import attempt_pass_annul

    if approved or not attempt_id:
        return False
    return attempt_pass_annul(attempt_id=attempt_id, reason=reason, actor=actor)
