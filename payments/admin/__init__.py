"""Finance in Django admin, one module per page family:

- :mod:`~payments.admin.payments`: payments (confirm / reject / refund through
  ``portal.admin_actions``) and the finance report with its Excel export (``payments.exports``);
- :mod:`~payments.admin.invoices`: the invoice queue (due dates highlighted) and marking one issued;
- :mod:`~payments.admin.statements`: bank statements: upload, review of the matched lines,
  resolving or ignoring a line;
- :mod:`~payments.admin.settings`: the collection account (bank details, QR code).

The pages stay thin: reads come from ``payments.selectors``, changes go through
``payments.services``. The working-day calendar's holiday table is in portal's admin.
"""

from . import invoices, payments, settings, statements  # noqa: F401 - importing registers the pages
