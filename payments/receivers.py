"""Signal receivers: react to upstream events by queueing tasks (no logic here)."""


def calendar_changed_recompute_invoices(sender, *, years: list[int], **kwargs) -> None:
    """``portal.workday_calendar.calendar_changed`` (after the import commits): queue the invoices
    still to issue whose deadline was provisional."""
    from .models import Invoice, InvoiceStatus, PaymentStatus
    from .tasks import invoice_deadlines_recompute

    ids = list(
        Invoice.objects.filter(
            status=InvoiceStatus.REQUESTED, payment__status=PaymentStatus.CONFIRMED, deadline_provisional=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        invoice_deadlines_recompute.delay(invoice_ids=ids)
