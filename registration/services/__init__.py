"""Registration services: one function per change, keyword-only, audited. Import from the module
that holds what you need (``from registration.services.review import trainee_approve``):

* :mod:`~registration.services.fields`: field checks shared by the others (phone numbers, the
  notice's words for certificate types and training categories, the error collector);
* :mod:`~registration.services.personal_data`: ID numbers (encrypted, found by hash), the audit
  of full ID numbers seen by staff, consents;
* :mod:`~registration.services.applications`: attachment 1, the application and its roster
  (``application_submit``, ``application_submit_or_notify``, the roster limit
  ``MAX_ROSTER_ROWS`` and the field rules the forms show);
* :mod:`~registration.services.attachment2`: the trainee's own form, documents and declaration;
* :mod:`~registration.services.review`: approve, return, reject, withdraw;
* :mod:`~registration.services.notices`: the messages after sign-up and after each decision
  (``*_notify``, run by ``registration.tasks`` on commit);
* :mod:`~registration.services.payment`: the fee marked paid / unpaid by the payments app;
* :mod:`~registration.services.retention`: purging documents and personal data when due.
* :mod:`~registration.services.refresher`: the refresher sign-up pre-filled with last year's data
  and the carry-over of attachment 2 (issue #21).
"""
