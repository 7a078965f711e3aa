"""Signal receivers: react to upstream events by queueing tasks (no logic here)."""


def exam_passed_issue_certificate(sender, *, enrollment_id: int, **kwargs) -> None:
    """``exams.signals.exam_passed`` (sent after the grading commits): queue the certificate."""
    from .tasks import issue

    issue.delay(enrollment_id=enrollment_id)
