"""Signals the exams app sends. Downstream apps (certificates) connect to them.

``exam_passed`` is sent after the transaction that graded a passed attempt commits, with
``enrollment_id`` and ``attempt_id``.
"""

from django.dispatch import Signal

exam_passed = Signal()
