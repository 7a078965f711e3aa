"""The unit account's pages (``/registration/unit-account/``): log-in by mobile number and code,
link recovery (credit code + mobile), the home page with all of the unit's applications, the
contacts, and claiming an application from its private page.

Code requests answer the same whatever the number or credit code (no oracle) and are limited per
address and per number (``portal.ratelimit``); code checks are limited per address and slowed down
per number across addresses (``portal.login_throttle``).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.forms import form_errors_apply
from portal.http import client_ip
from portal.login_throttle import login_failure_record, login_success_record, login_turn_claim
from portal.notifications import mask_mobile
from portal.ratelimit import cooldown_claim, ratelimit_hit, ratelimit_setting

from .. import selectors
from ..models import ApplicantKind, UnitContact
from ..services import units
from .access import (
    safe_next,
    unit_contact_current,
    unit_contact_login,
    unit_contact_logout,
    unit_contact_required,
)
from .forms import ClaimCodeForm, UnitCodeForm, UnitContactAddForm, UnitMobileForm, UnitRecoverForm

SESSION_MOBILE = "registration_unit_code_mobile"
SESSION_CHOICES = "registration_unit_contact_choices"
RATE_CODE_REQUEST_IP = (10, 3600)
RATE_CODE_REQUEST_MOBILE = (5, 3600)
RATE_VERIFY_IP = (30, 600)
CODE_COOLDOWN_SECONDS = 60


def _private(response):
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _limited(request, scope: str, key: str, setting: str, default: tuple[int, int]) -> bool:
    limit, window = ratelimit_setting(setting, default)
    return not ratelimit_hit(scope=scope, key=key or "", limit=limit, window_seconds=window)


def _rate_limited(request, *, seconds: int = 0):
    context = {"minutes": max(1, -(-seconds // 60)) if seconds else None}
    return _private(render(request, "registration/units/rate_limited.html", context, status=429))


def _code_request_refused(request, mobile: str) -> int | None:
    """``None`` when a code may be sent to ``mobile`` now; otherwise the 429 wait in seconds (0:
    over the hourly limits)."""
    ip = client_ip(request) or ""
    if _limited(request, "unit-code-ip", ip, "UNIT_RATE_CODE_REQUEST_IP", RATE_CODE_REQUEST_IP):
        return 0
    if _limited(
        request, "unit-code-mobile", mobile, "UNIT_RATE_CODE_REQUEST_MOBILE", RATE_CODE_REQUEST_MOBILE
    ):
        return 0
    wait = cooldown_claim(scope="unit-code-turn", key=mobile, seconds=CODE_COOLDOWN_SECONDS)
    return wait or None


def _code_check_refused(request, mobile: str) -> int | None:
    """``None`` when a code of ``mobile`` may be checked now; otherwise the wait in seconds."""
    if _limited(request, "unit-verify-ip", client_ip(request) or "", "UNIT_RATE_VERIFY_IP", RATE_VERIFY_IP):
        return 0
    wait = login_turn_claim(username=mobile, request=request)
    return wait or None


def _login(request, contacts: list[UnitContact]):
    unit_contact_login(request, contacts[0])
    request.session[SESSION_CHOICES] = [contact.pk for contact in contacts]
    request.session.pop(SESSION_MOBILE, None)
    login_success_record(username=contacts[0].mobile, request=request)


# --- Log-in ------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    """Step 1: the mobile number. The same answer for every number."""
    if request.method == "GET" and unit_contact_current(request) is not None:
        return redirect(safe_next(request, reverse("registration:unit_home")))
    form = UnitMobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        refused = _code_request_refused(request, mobile)
        if refused is not None:
            return _rate_limited(request, seconds=refused)
        units.unit_login_code_request(mobile=mobile, ip=client_ip(request))
        request.session[SESSION_MOBILE] = mobile
        messages.info(
            request,
            _(
                "If this mobile number is a contact of a unit account, a code has been sent to it by SMS. "
                "It is valid for %(minutes)s minutes."
            )
            % {"minutes": units.CODE_MINUTES},
        )
        confirm = reverse("registration:unit_login_confirm")
        next_url = safe_next(request, "")
        return redirect(f"{confirm}?{urlencode({'next': next_url})}" if next_url else confirm)
    context = {"form": form, "next": safe_next(request, "")}
    return _private(render(request, "registration/units/login.html", context))


def _code_confirm(request, *, purpose: str, confirm, on_success):
    """The SMS code step of the log-in and of the link recovery: the same form, limits and page;
    ``confirm(mobile=, code=, ip=)`` is the service, ``on_success(result)`` the response."""
    form = UnitCodeForm(request.POST or None, initial={"mobile": request.session.get(SESSION_MOBILE, "")})
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        refused = _code_check_refused(request, mobile)
        if refused is not None:
            return _rate_limited(request, seconds=refused)
        try:
            result = confirm(mobile=mobile, code=form.cleaned_data["code"], ip=client_ip(request))
        except ValidationError as exc:
            login_failure_record(username=mobile)
            form_errors_apply(form, exc)
        else:
            return on_success(result)
    next_url = safe_next(request, "") if purpose == "login" else ""
    context = {"form": form, "next": next_url, "purpose": purpose}
    return _private(render(request, "registration/units/code_confirm.html", context))


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def login_confirm(request):
    """Step 2: the code from the SMS."""

    def logged_in(contacts):
        _login(request, contacts)
        return redirect(safe_next(request, reverse("registration:unit_home")))

    return _code_confirm(
        request, purpose="login", confirm=units.unit_login_code_confirm, on_success=logged_in
    )


@require_POST
def logout(request):
    unit_contact_logout(request)
    request.session.pop(SESSION_CHOICES, None)
    messages.info(request, _("You are logged out of the unit account."))
    return redirect("registration:unit_login")


@require_POST
@unit_contact_required
def switch(request, contact_pk: int):
    """A mobile number that is a contact of several units: change to another of them."""
    if contact_pk not in request.session.get(SESSION_CHOICES, []):
        raise Http404
    contact = get_object_or_404(
        UnitContact.objects.select_related("unit"),
        pk=contact_pk,
        mobile=request.unit_contact.mobile,
        active=True,
        unit__merged_into__isnull=True,
    )
    choices = request.session[SESSION_CHOICES]
    unit_contact_login(request, contact)
    request.session[SESSION_CHOICES] = choices
    return redirect("registration:unit_home")


# --- Lost links: credit code + mobile ------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def recover(request):
    """Step 1 of link recovery. Whatever the credit code and number, the same next page."""
    form = UnitRecoverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        refused = _code_request_refused(request, mobile)
        if refused is not None:
            return _rate_limited(request, seconds=refused)
        units.unit_recover_code_request(
            credit_code=form.cleaned_data["credit_code"], mobile=mobile, ip=client_ip(request)
        )
        request.session[SESSION_MOBILE] = mobile
        messages.info(
            request,
            _(
                "If this mobile number belongs to the unit with this credit code (its contact on an "
                "application, or a contact of its unit account), a code has been sent to it by SMS. "
                "It is valid for %(minutes)s minutes."
            )
            % {"minutes": units.CODE_MINUTES},
        )
        return redirect("registration:unit_recover_confirm")
    return _private(render(request, "registration/units/recover.html", {"form": form}))


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def recover_confirm(request):
    def recovered(contact):
        _login(request, [contact])
        messages.success(request, _("Here are all of your unit's applications with their links."))
        return redirect("registration:unit_home")

    return _code_confirm(
        request, purpose="recover", confirm=units.unit_recover_code_confirm, on_success=recovered
    )


# --- Claim an application from its private page --------------------------------------------------


def _claimable(access_key: str):
    application = selectors.application_by_access_key(access_key)
    if application is None or application.kind != ApplicantKind.UNIT or not application.invoice_tax_id:
        raise Http404
    return application


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def claim(request, access_key: str):
    """Link this application to my unit account: a code to the application's contact phone."""
    application = _claimable(access_key)
    mobile = application.contact_phone
    form = ClaimCodeForm()
    if request.method == "POST" and request.POST.get("action") == "send":
        refused = _code_request_refused(request, mobile)
        if refused is not None:
            return _rate_limited(request, seconds=refused)
        try:
            units.unit_claim_code_request(application=application, ip=client_ip(request))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("registration:application_detail", access_key=access_key)
        messages.info(
            request,
            _("A code has been sent by SMS to the contact phone %(mobile)s.")
            % {"mobile": mask_mobile(mobile)},
        )
        return redirect("registration:unit_claim", access_key=access_key)
    if request.method == "POST":
        form = ClaimCodeForm(request.POST)
        if form.is_valid():
            refused = _code_check_refused(request, mobile)
            if refused is not None:
                return _rate_limited(request, seconds=refused)
            try:
                contact = units.unit_for_application_link(
                    application=application, code=form.cleaned_data["code"], ip=client_ip(request)
                )
            except ValidationError as exc:
                login_failure_record(username=mobile)
                form_errors_apply(form, exc)
            else:
                _login(request, [contact])
                messages.success(
                    request,
                    _("Application %(reference)s is linked to the unit account of %(unit)s.")
                    % {"reference": application.reference, "unit": contact.unit.name},
                )
                return redirect("registration:unit_home")
    context = {"application": application, "form": form, "mobile_masked": mask_mobile(mobile)}
    return _private(render(request, "registration/units/claim.html", context))


# --- The account -----------------------------------------------------------------------------------


@require_GET
@unit_contact_required
def home(request):
    """All of the unit's applications, across programmes and years, with status and money."""
    rows = selectors.unit_applications(request.unit)
    choices = [pk for pk in request.session.get(SESSION_CHOICES, []) if pk != request.unit_contact.pk]
    others = (
        list(
            UnitContact.objects.select_related("unit").filter(
                pk__in=choices,
                mobile=request.unit_contact.mobile,
                active=True,
                unit__merged_into__isnull=True,
            )
        )
        if choices
        else []
    )
    items = [
        {
            "row": row,
            "url": request.build_absolute_uri(
                reverse("registration:application_detail", args=[row.application.access_key])
            ),
        }
        for row in rows
    ]
    context = {"unit": request.unit, "contact": request.unit_contact, "items": items, "others": others}
    return render(request, "registration/units/home.html", context)


@require_http_methods(["GET", "POST"])
@unit_contact_required
def contacts(request):
    """The unit's contacts: add one (by mobile number) or remove one."""
    form = UnitContactAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = units.unit_contact_add(
                unit=request.unit,
                mobile=form.cleaned_data["mobile"],
                name=form.cleaned_data["name"],
                by_contact=request.unit_contact,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            messages.success(
                request,
                _("%(mobile)s can now log in to the unit account with a code sent to that number.")
                % {"mobile": added.mobile},
            )
            return redirect("registration:unit_contacts")
    context = {
        "unit": request.unit,
        "contact": request.unit_contact,
        "contacts": selectors.unit_contacts_active(request.unit),
        "form": form,
    }
    return render(request, "registration/units/contacts.html", context)


@require_POST
@unit_contact_required
def contact_remove(request, contact_pk: int):
    target = get_object_or_404(UnitContact, pk=contact_pk, unit=request.unit, active=True)
    try:
        units.unit_contact_remove(contact=target, by_contact=request.unit_contact, ip=client_ip(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("registration:unit_contacts")
    if target.pk == request.unit_contact.pk:
        unit_contact_logout(request)
        messages.info(request, _("You removed yourself from the unit account and are logged out."))
        return redirect("registration:unit_login")
    messages.success(
        request, _("%(mobile)s can no longer log in to the unit account.") % {"mobile": target.mobile}
    )
    return redirect("registration:unit_contacts")
