"""Revocation: staff revoke a certificate with a reason (audited); it then verifies as revoked."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from ..models import Certificate, CertificateStatus


def certificate_revoke(
    *, certificate: Certificate, actor: User, reason: str, ip: str | None = None
) -> Certificate:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for revoking the certificate."))
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.status == CertificateStatus.REVOKED:
            raise ValidationError(
                _("Certificate %(number)s is already revoked.") % {"number": certificate.number}
            )
        old = {"status": certificate.status}
        certificate.status = CertificateStatus.REVOKED
        certificate.revoked_at = timezone.now()
        certificate.revoked_by = actor
        certificate.revoke_reason = reason
        certificate.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
        audit_record(
            actor=actor,
            action="certificate.revoked",
            target=certificate,
            old=old,
            new={"status": certificate.status},
            reason=reason,
            ip=ip,
        )
    return certificate
