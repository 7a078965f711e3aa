"""Who is logged in to a unit account: a :class:`~registration.models.UnitContact` kept in the
session (not a Django ``User``: contacts have no password, they log in with a code by SMS).

Views of the unit account use :func:`unit_contact_required`::

    @unit_contact_required
    def people(request):
        request.unit_contact  # the logged-in, active UnitContact (unit selected)
        request.unit          # its Unit

Without a logged-in contact (never logged in, logged out, the contact removed, the unit merged
away) the visitor is sent to the unit log-in page with ``?next=`` the page asked for.
"""

from functools import wraps

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from ..models import UnitContact

SESSION_CONTACT = "registration_unit_contact"


def unit_contact_login(request, contact: UnitContact) -> None:
    """Log ``contact`` in on this browser (a new session key, against session fixation)."""
    request.session.cycle_key()
    request.session[SESSION_CONTACT] = contact.pk
    request.unit_contact = contact
    request.unit = contact.unit


def unit_contact_logout(request) -> None:
    request.session.pop(SESSION_CONTACT, None)
    request.session.cycle_key()


def unit_contact_current(request) -> UnitContact | None:
    """The active contact logged in on this browser, with its unit (one query); ``None`` if none."""
    pk = request.session.get(SESSION_CONTACT)
    if not isinstance(pk, int):
        return None
    contact = (
        UnitContact.objects.select_related("unit")
        .filter(pk=pk, active=True, unit__merged_into__isnull=True)
        .first()
    )
    if contact is None:
        request.session.pop(SESSION_CONTACT, None)
    return contact


def unit_login_url(next_url: str = "") -> str:
    url = reverse("registration:unit_login")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def safe_next(request, fallback: str) -> str:
    """The ``next`` parameter when it points inside this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def unit_contact_required(view):
    """Run ``view`` with ``request.unit_contact`` and ``request.unit`` set, or redirect to the unit
    log-in page. The answer is private (not cached, not indexed)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        contact = unit_contact_current(request)
        if contact is None:
            return redirect(unit_login_url(request.get_full_path()))
        request.unit_contact = contact
        request.unit = contact.unit
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper
