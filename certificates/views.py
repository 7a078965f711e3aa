"""Trainee download of the certificate PDF and the public verification page."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from learning.ratelimit import ratelimit_hit
from portal.services import audit_record

from . import selectors, services
from .forms import VerifyForm
from .models import CertificateStatus


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or ""


def _limit(name: str, default: tuple[int, int]) -> tuple[int, int]:
    return tuple(getattr(settings, name, default))


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
        pdf = services.certificate_pdf_bytes(certificate=certificate)
    except ValidationError as exc:
        return render(request, "certificates/unavailable.html", {"message": exc.messages[0]}, status=503)
    if staff:
        audit_record(actor=request.user, action="certificate.pdf_viewed", target=certificate, ip=_ip(request))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"certificate-{certificate.number}.pdf"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _rate_limited(request, *, number: str = "") -> bool:
    limit, window = _limit("CERTIFICATES_VERIFY_RATE_IP", (20, 600))
    if not ratelimit_hit(scope="cert-verify-ip", key=_ip(request), limit=limit, window_seconds=window):
        return True
    if number:
        limit, window = _limit("CERTIFICATES_VERIFY_RATE_NUMBER", (10, 3600))
        if not ratelimit_hit(scope="cert-verify-number", key=number, limit=limit, window_seconds=window):
            return True
    return False


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
    if _rate_limited(request, number=form.cleaned_data["number"]):
        return render(request, "certificates/rate_limited.html", status=429)
    certificate = selectors.certificate_verify(
        number=form.cleaned_data["number"], name=form.cleaned_data["name"]
    )
    return _result(request, certificate, form=form)


@never_cache
@require_GET
def verify_number(request, number: str):
    """The QR code's link: the number with its key (no name needed); without the key, the form."""
    key = request.GET.get("k", "")
    if not key:
        form = VerifyForm(initial={"number": number[:20]})
        return render(request, "certificates/verify.html", {"form": form, "searched": False})
    if _rate_limited(request):
        return render(request, "certificates/rate_limited.html", status=429)
    certificate = selectors.certificate_by_key(number=number, key=key)
    return _result(request, certificate, via_qr=True)
