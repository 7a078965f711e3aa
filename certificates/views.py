"""Trainee download of the certificate PDF and the public verification page.

Limits of the public check, so that nobody can lock the holder's check:

* the QR code's link (number + the certificate's own key) always verifies: a right key is never
  limited; only wrong keys count against the address;
* the form (number + name) is limited per address (``CERTIFICATES_VERIFY_RATE_IP``);
* per number only wrong names count, and only past more of them than one address can make
  (``CERTIFICATES_VERIFY_RATE_NUMBER``), so one address cannot slow anybody else down; past that the
  number is answered once every ``CERTIFICATES_VERIFY_NUMBER_WAIT_SECONDS`` (a few seconds), whoever
  asks: guessing names from many addresses is slowed down, the holder waits seconds, never an hour.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from portal.files import private_file_response
from portal.http import client_ip
from portal.ratelimit import cooldown_claim, ratelimit_count, ratelimit_hit, ratelimit_setting
from portal.services import audit_record

from . import selectors
from .forms import VerifyForm
from .models import CertificateStatus
from .services.pdf import certificate_pdf_file


@require_GET
@login_required
def download(request, pk: int):
    """The certificate PDF: its holder (while valid) or staff allowed to view certificates."""
    certificate = selectors.certificate_for_user(user=request.user, pk=pk)
    staff = False
    if certificate is None:
        certificate = selectors.certificate_for_staff(user=request.user, pk=pk)
        staff = certificate is not None
    if certificate is None:
        raise Http404
    if not staff and certificate.status == CertificateStatus.REVOKED:
        return render(request, "certificates/revoked.html", {"certificate": certificate}, status=410)
    try:
        pdf = certificate_pdf_file(certificate=certificate)
    except ValidationError as exc:
        return render(request, "certificates/unavailable.html", {"message": exc.messages[0]}, status=503)
    if staff:
        audit_record(
            actor=request.user, action="certificate.pdf_viewed", target=certificate, ip=client_ip(request)
        )
    return private_file_response(
        request,
        pdf,
        filename=f"certificate-{certificate.number}.pdf",
        as_attachment=True,
        content_type="application/pdf",
    )


VERIFY_RATE_IP = (20, 600)  # checks per address and window (seconds)
# Wrong names per number and window before the number is slowed down: more than one address can
# make in a window (its fixed windows can fall back to back: twice its limit).
VERIFY_RATE_NUMBER = (50, 600)
VERIFY_NUMBER_WAIT_SECONDS = 10  # then one check of the number per this many seconds


def _address_limited(request) -> bool:
    limit, window = ratelimit_setting("CERTIFICATES_VERIFY_RATE_IP", VERIFY_RATE_IP)
    return not ratelimit_hit(
        scope="cert-verify-ip", key=client_ip(request) or "", limit=limit, window_seconds=window
    )


def _number_wait(number: str) -> int:
    """Seconds before ``number`` may be checked again (``0``: now). Only a number with many recent
    wrong names waits, and then one check per few seconds gets through, whoever makes it."""
    failures, _window = ratelimit_setting("CERTIFICATES_VERIFY_RATE_NUMBER", VERIFY_RATE_NUMBER)
    if ratelimit_count(scope="cert-verify-number", key=number) < failures:
        return 0
    wait = int(getattr(settings, "CERTIFICATES_VERIFY_NUMBER_WAIT_SECONDS", VERIFY_NUMBER_WAIT_SECONDS))
    return cooldown_claim(scope="cert-verify-number", key=number, seconds=wait)


def _number_failure_record(number: str) -> None:
    failures, window = ratelimit_setting("CERTIFICATES_VERIFY_RATE_NUMBER", VERIFY_RATE_NUMBER)
    ratelimit_hit(scope="cert-verify-number", key=number, limit=failures, window_seconds=window)


def _refused(request, *, wait_seconds: int = 0):
    response = render(request, "certificates/rate_limited.html", {"wait_seconds": wait_seconds}, status=429)
    if wait_seconds:
        response["Retry-After"] = str(wait_seconds)
    return response


def _result(request, certificate, *, form=None, via_qr=False):
    context = {"form": form or VerifyForm(), "certificate": certificate, "searched": True, "via_qr": via_qr}
    response = render(request, "certificates/verify.html", context)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request):
    """Public: certificate number and holder's name → validity, type, issue date (masked ID)."""
    if request.method == "GET":
        return render(request, "certificates/verify.html", {"form": VerifyForm(), "searched": False})
    form = VerifyForm(request.POST)
    if not form.is_valid():
        return render(request, "certificates/verify.html", {"form": form, "searched": False}, status=400)
    number = form.cleaned_data["number"]
    if _address_limited(request):
        return _refused(request)
    wait = _number_wait(number)
    if wait:
        return _refused(request, wait_seconds=wait)
    certificate = selectors.certificate_verify(number=number, name=form.cleaned_data["name"])
    if certificate is None:
        _number_failure_record(number)
    return _result(request, certificate, form=form)


@never_cache
@require_GET
def verify_number(request, number: str):
    """The QR code's link: the number with its key (no name needed); without the key, the form.

    The right key always verifies (it is the certificate's own, 72 random bits): no limit applies
    to it. Only a wrong key counts against the address."""
    key = request.GET.get("k", "")
    if not key:
        form = VerifyForm(initial={"number": number[:20]})
        return render(request, "certificates/verify.html", {"form": form, "searched": False})
    certificate = selectors.certificate_by_key(number=number, key=key)
    if certificate is None and _address_limited(request):
        return _refused(request)
    return _result(request, certificate, via_qr=True)
