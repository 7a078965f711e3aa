"""The public verification: the URL printed as the certificate's QR code (its key opens the result
without the holder's name) and how names are compared when someone types one."""

import unicodedata

from django.urls import reverse
from django.utils.http import urlencode

from portal.http import site_url

from ..models import Certificate


def verify_url(certificate: Certificate) -> str:
    """The public verification URL printed as the QR code (the key lets it open without the name)."""
    path = reverse("certificates:verify_number", args=[certificate.number])
    return site_url(path + "?" + urlencode({"k": certificate.verify_key}))


def name_normalize(value: str) -> str:
    """Names compare after NFKC, without spaces and middle dots of any kind (少数民族 names)."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(ch for ch in text if not ch.isspace() and ch not in "·•‧・.")
