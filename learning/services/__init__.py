"""Learning services, one module per sub-domain (import from the module you use, e.g.
``from learning.services.windows import enrollment_extend``):

- ``accounts``: opening the study account of a paid trainee (once), the sweep that opens missed
  ones, and setting one's own password with a one-time link or a 6-digit code.
- ``messages``: the notices (``*_notify``): the account-opened message, the deadline reminders,
  the expiry.
- ``windows``: the study window: expiry of enrollments past their deadline, staff extensions.
- ``passing``: marking an enrollment passed (called by the exams app).
- ``study``: study time: sessions, heartbeats, presence checks (the crediting rules are in its
  docstring).
- ``staff_hours``: class hours earned elsewhere, entered by staff.

Every function is keyword-only; status changes lock the row, check the transition, save and audit
in the same transaction and queue follow-up work on commit. The periodic jobs work set-based and
are safe to run twice or concurrently.
"""
