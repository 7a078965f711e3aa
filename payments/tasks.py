"""Background jobs of payments: e-mailing issued invoices and the daily invoice-deadline digest."""

from celery import shared_task

from .services import invoices
from .services.notices import invoice_deadlines_notify, invoice_email_notify


@shared_task(name="payments.tasks.invoice_email")
def invoice_email(*, invoice_id: int) -> bool:
    """E-mail an issued invoice to the buyer. Idempotent: an invoice is e-mailed once."""
    return invoice_email_notify(invoice_id=invoice_id)


@shared_task(name="payments.tasks.invoice_deadlines_digest")
def invoice_deadlines_digest() -> int:
    """Daily: e-mail finance staff the invoices that are overdue or due within a working day."""
    return invoice_deadlines_notify()


@shared_task(name="payments.tasks.invoice_deadlines_recompute")
def invoice_deadlines_recompute(*, invoice_ids: list[int]) -> int:
    """After a calendar import: recompute these invoices' provisional deadlines (idempotent)."""
    return invoices.invoice_deadlines_recompute(invoice_ids=invoice_ids)
