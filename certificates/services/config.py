"""The certificate settings (one row: number prefix, mailing promise, seal, courier sender) and
the issuing body printed on every certificate."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.selectors import association_get

from ..models import CertificateSettings


def certificate_settings_get() -> CertificateSettings:
    """The one settings row (created with the defaults on first use)."""
    row = CertificateSettings.objects.order_by("pk").first()
    if row is None:
        row, _created = CertificateSettings.objects.get_or_create(pk=1)
    return row


def certificate_issuer() -> str:
    """The issuing body printed on certificates: the association's "certificate issuer"."""
    association = association_get()
    if association is None or not association.certificate_issuer:
        raise ValidationError(
            _("Enter the certificate issuer in the association's settings before certificates are issued.")
        )
    return association.certificate_issuer


def number_format(*, prefix: str, year: int, serial: int) -> str:
    """``AQ`` + year + six-digit serial (the row id, from the database sequence)."""
    return f"{prefix}{year}{serial:06d}"
