"""Public payment page (reached by the application's private link) and permission-checked files."""

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from portal.files import private_file_response
from portal.forms import form_errors_apply
from portal.http import client_ip
from registration.models import Application, TraineeStatus
from registration.selectors import application_money

from . import selectors
from .forms import PaymentReportForm
from .models import Invoice, Payment, yuan
from .services.payments import payment_report


def _error_summary(form) -> list[dict]:
    """The form's errors for the summary at the top of the page (``registration/_error_summary.html``),
    each naming its field and linking to it (crispy's ``div_id_<name>`` wraps every field)."""
    summary = [{"text": message, "anchor": ""} for message in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name == "__all__" or name not in form.fields:
            continue
        for message in errors:
            summary.append(
                {
                    "text": _("%(field)s: %(message)s")
                    % {"field": form.fields[name].label, "message": message},
                    "anchor": f"div_id_{name}",
                }
            )
    return summary


@never_cache
@require_http_methods(["GET", "POST"])
def application_pay(request, access_key: str):
    application = get_object_or_404(Application.objects.select_related("programme"), access_key=access_key)
    money = application_money(application=application)
    payable = selectors.trainees_payable(application=application)
    form = PaymentReportForm(
        request.POST or None, request.FILES or None, application=application, payable=payable, money=money
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment = payment_report(
                application=application,
                channel=data["channel"],
                payer_name=data["payer_name"],
                payer_mobile=data["payer_mobile"],
                amount_fen=data["amount"],
                transaction_no=data["transaction_no"],
                paid_at=data["paid_at"],
                trainees=list(data["trainees"]),
                invoice_buyer_name=data["invoice_buyer_name"],
                invoice_tax_id=data["invoice_tax_id"],
                invoice_email=data["invoice_email"],
                screenshot=data.get("screenshot"),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            if payment.is_mismatch:
                messages.warning(
                    request,
                    _(
                        "Payment reported. The amount (%(paid)s yuan) differs from the fees of the chosen "
                        "trainees (%(due)s yuan): finance will check it and may contact you."
                    )
                    % {"paid": yuan(payment.amount_fen), "due": yuan(payment.expected_fen)},
                )
            else:
                messages.success(
                    request, _("Payment reported. Finance will confirm it once the money has arrived.")
                )
            return redirect("payments:application_pay", access_key=access_key)
    context = {
        "application": application,
        "money": money,
        "payments": selectors.application_payments(application=application),
        "settings": selectors.payment_settings_get(),
        "form": form,
        "error_summary": _error_summary(form) if form.is_bound else [],
        "has_payable": any(
            row.trainee.status == TraineeStatus.APPROVED and row.trainee.paid_at is None for row in money.rows
        ),
    }
    return render(request, "payments/application_pay.html", context)


@require_GET
def qr_image(request):
    """The association's collection QR code (public: it is printed on the notice too)."""
    payment_settings = selectors.payment_settings_get()
    if payment_settings is None or not payment_settings.qr_image:
        raise Http404
    content_type = mimetypes.guess_type(payment_settings.qr_image.name)[0] or "image/png"
    return private_file_response(
        request, payment_settings.qr_image, content_type=content_type, cache_control="public, max-age=300"
    )


def _private_file(request, field, *, filename: str):
    if not field:
        raise Http404
    return private_file_response(request, field, filename=filename)


@login_required
@permission_required("payments.view_payment", raise_exception=True)
@require_GET
def payment_screenshot(request, pk: int):
    payment = get_object_or_404(Payment, pk=pk)
    return _private_file(
        request, payment.screenshot, filename=f"payment-{payment.pk}{_ext(payment.screenshot.name)}"
    )


@login_required
@permission_required("payments.view_invoice", raise_exception=True)
@require_GET
def invoice_pdf(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    return _private_file(request, invoice.pdf, filename=f"{invoice.number or invoice.pk}.pdf")


def _ext(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""
