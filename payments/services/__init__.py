"""Payment services, by sub-domain (keyword-only functions named ``<thing>_<verb>``; each status
change locks its row, checks the transition, saves and writes its audit entry in one transaction).

Import from the module that holds the function, e.g.
``from payments.services.payments import payment_confirm``:

- :mod:`~payments.services.payments`: the payer's report (and its screenshot), finance's
  confirmation, rejection and refund;
- :mod:`~payments.services.statements`: bank statements: import and matching, resolving or ignoring
  a line, confirming the matched lines;
- :mod:`~payments.services.invoices`: the e-invoice recorded as issued (number and PDF), its
  deadline in working days;
- :mod:`~payments.services.notices`: the e-mails: the invoice to the buyer, the deadline digest to
  finance;
- :mod:`~payments.services.retention`: purging the personal data of payments with their trainees.
"""
