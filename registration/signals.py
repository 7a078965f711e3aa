"""Events other apps react to, so that registration never imports them.

``trainee_paid`` is sent after the transaction that marked a trainee's fee as paid commits
(``trainee_id`` keyword). The learning app connects a receiver that queues account provisioning.
"""

from django.dispatch import Signal

trainee_paid = Signal()

#: Sent after a refresher re-registration commits (``application_id``, ``programme_id``
#: keywords; registration.services.refresher). The certificates app links its invitations.
refresher_registered = Signal()
