"""Signals the learning app sends. Downstream apps (exams, certificates) connect to them.

``exam_photo_reviewed`` (issue #23) is sent inside the transaction in which staff decided the exam
photo of a check answered by SMS code, with ``check_id``, ``enrollment_id``, ``attempt_id`` (may be
``None``), ``approved``, ``reason`` and ``actor``: the exams app annuls the attempt's pass when the
photo was rejected (same transaction; its receiver returns ``True`` when it did, and learning then
tells the trainee), the certificates app issues the held certificate after the commit when approved.
"""

from django.dispatch import Signal

exam_photo_reviewed = Signal()
