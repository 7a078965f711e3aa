"""Certificate services, by sub-domain. Every status change is one function: the row is locked, the
transition checked, the change and its audit entry written in one transaction, and follow-up work
(PDF, notices) queued on commit.

Import from the module that holds the function, e.g.
``from certificates.services.issue import certificates_issue``:

- :mod:`~certificates.services.config`: the settings row and the issuing body;
- :mod:`~certificates.services.issue`: issuing the certificates of passed enrollments (and the sweep);
- :mod:`~certificates.services.pdf`: the certificate's PDF: data, rendering, the stored file;
- :mod:`~certificates.services.verification`: the QR code's verification URL, comparing names;
- :mod:`~certificates.services.revocation`: revoking a certificate;
- :mod:`~certificates.services.mailing`: courier booking sheet, tracking numbers (one or imported);
- :mod:`~certificates.services.notices`: the holder's notices (issued, mailed);
- :mod:`~certificates.services.print_runs`: bulk print runs into one PDF;
- :mod:`~certificates.services.retention`: purging the mailing details with the trainee.
"""
