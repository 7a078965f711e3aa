"""Retention: the personal data of payments (proofs, payer mobile, invoice e-mail) purged with the
trainees they cover (called by ``learning.retention`` with the trainees it is about to purge)."""

from django.db import transaction
from django.db.models import Q

from portal.models import User
from portal.services import audit_record, audit_values_redact

from ..models import Invoice, Payment

PROOFS_PURGE_ACTION = "payment.proofs_purged"


def _proof_files_delete(names: list[str]) -> None:
    import logging

    storage = Payment._meta.get_field("screenshot").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logging.getLogger("payments").exception("Retention purge: could not delete %s", name)


def payments_purge_personal_data(*, trainee_ids, actor: User | None = None, reason: str = "") -> list[int]:
    """Delete the payment screenshots (proofs), the payer's mobile number and the e-mail address
    the e-invoice went to, for payments that cover only these trainees or trainees already purged;
    a payment still covering someone else keeps them until then. The payment and the invoice as
    accounting records stay (payer name, amounts, transaction and invoice numbers, buyer).

    Set-based, idempotent (payments with nothing left to purge are skipped); one audit entry lists
    the payments. Files are deleted once the transaction commits. Returns the ids of the payments.
    """
    ids = sorted({int(pk) for pk in trainee_ids})
    if not ids:
        return []
    through = Payment.trainees.through
    with transaction.atomic():
        covering = through.objects.filter(trainee_id__in=ids).values("payment_id")
        blocking = (
            through.objects.filter(payment_id__in=covering)
            .exclude(trainee_id__in=ids)
            .filter(trainee__purged_at__isnull=True)
            .values("payment_id")
        )
        has_personal_data = (
            ~Q(screenshot="") | ~Q(payer_mobile="") | (Q(invoice__isnull=False) & ~Q(invoice__email=""))
        )
        rows = list(
            Payment.objects.select_for_update(of=("self",))
            .filter(pk__in=covering)
            .exclude(pk__in=blocking)
            .filter(has_personal_data)
            .order_by("pk")
            .values_list("pk", "screenshot")
        )
        if not rows:
            return []
        purged = [pk for pk, _name in rows]
        names = [name for _pk, name in rows if name]
        Payment.objects.filter(pk__in=purged).update(screenshot="", payer_mobile="")
        invoices = list(Invoice.objects.filter(payment_id__in=purged).values_list("pk", flat=True))
        Invoice.objects.filter(pk__in=invoices).update(email="")
        audit_values_redact(model=Payment, ids=purged, fields={"screenshot", "payer_mobile"})
        audit_values_redact(model=Invoice, ids=invoices, fields={"email"})
        audit_record(
            actor=actor,
            action=PROOFS_PURGE_ACTION,
            new={"payment_ids": purged, "trainee_ids": ids, "files_deleted": len(names)},
            reason=reason,
        )
        transaction.on_commit(lambda: _proof_files_delete(names))
    return purged
