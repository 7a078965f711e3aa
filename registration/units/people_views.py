"""The unit's people (``/registration/unit-account/people/``) and the refresher re-registration
started from it, plus the same for one person from their personal centre.

The re-registration pages are the sign-up forms of :mod:`registration.views` (the same form
classes, templates, validation, consents and answers), pre-filled with last year's data
(:mod:`registration.services.refresher`); only the submit step differs: it also carries
attachment 2 over (:func:`registration.services.refresher.refresher_application_submit`).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from portal.http import client_ip

from .. import selectors, views
from ..forms import ApplicantForm, IndividualForm, roster_formset, roster_rows_posted
from ..services.applications import RosterValidationError
from ..services.refresher import (
    refresher_application_submit,
    refresher_individual_initial,
    refresher_unit_initial,
)
from .access import unit_contact_required
from .people import unit_people, unit_people_selected, user_people

STATE_BADGES = {"overdue": "text-bg-danger", "due_soon": "text-bg-warning", "ok": "text-bg-success"}


def _private(response):
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_GET
@unit_contact_required
def people(request):
    """Everyone the unit has trained, their latest certificate and refresher date."""
    programme = selectors.programme_current()
    rows = unit_people(unit=request.unit, programme=programme)
    context = {
        "unit": request.unit,
        "contact": request.unit_contact,
        "programme": programme,
        "people": [{"person": person, "badge": STATE_BADGES.get(person.state, "")} for person in rows],
        "selectable": programme is not None and any(person.selectable for person in rows),
    }
    return _private(render(request, "registration/units/people.html", context))


@never_cache
@require_http_methods(["GET", "POST"])
@unit_contact_required
def people_reregister(request):
    """GET ``?person=<id>&person=…``: the unit form pre-filled for the selected people; POST: the
    unit form's own actions (submit, import, add rows), the submit carrying attachment 2 over."""
    programme, closed = views._programme_or_closed(request)
    if closed:
        return closed
    if request.method == "GET":
        selected = unit_people_selected(
            unit=request.unit, trainee_ids=request.GET.getlist("person"), programme=programme
        )
        if not selected:
            messages.error(
                request,
                _("Choose at least one person who is not registered for %(programme)s yet.")
                % {"programme": programme.name},
            )
            return redirect("registration:unit_people")
        applicant, rows = refresher_unit_initial(
            unit=request.unit,
            trainees=[person.trainee for person in selected],
            numbers={person.trainee.pk: person.certificate_number for person in selected},
        )
        messages.info(
            request,
            _(
                "Refresher registration for %(programme)s, filled in with last year's data. Check and "
                "change anything that is no longer right, confirm the consent and submit."
            )
            % {"programme": programme.name},
        )
        return _private(
            views._unit_render(
                request,
                programme=programme,
                form=ApplicantForm(initial=applicant, programme=programme),
                formset=roster_formset(initial=rows, blank_rows=0, programme=programme),
            )
        )
    if not views._signup_allowed(request):
        return views._unit_refused(request, programme, views._signup_refused_message())
    action = request.POST.get("action", "submit")
    if action == "import":
        return views._unit_import(request, programme)
    if action == "add_rows":
        return views._unit_render(
            request,
            programme=programme,
            form=ApplicantForm(initial=views._applicant_initial(request.POST), programme=programme),
            formset=roster_formset(
                initial=roster_rows_posted(request.POST),
                blank_rows=views.BLANK_ROWS_ADDED,
                programme=programme,
            ),
        )
    form = ApplicantForm(request.POST, programme=programme)
    formset = roster_formset(request.POST, programme=programme)
    extra_errors = []
    form_ok = form.is_valid()
    if formset.is_valid() and form_ok:
        rows = formset.rows()
        try:
            application = refresher_application_submit(
                programme=programme,
                applicant=form.applicant_data(),
                roster=[row_form.roster_data() for _number, row_form in rows],
                consents=form.consents_given(),
                ip=client_ip(request),
                # Last year's registrations of the unit's people: the new rows of the same persons
                # (matched by ID number) get their attachment 2 carried over.
                sources=[person.trainee for person in unit_people(unit=request.unit)],
            )
        except RosterValidationError as exc:
            extra_errors = views._roster_errors_apply(exc, form=form, rows=rows)
        else:
            messages.success(
                request,
                _(
                    "Application %(reference)s is submitted. Keep the link of this page: it shows the status "
                    "and the fee due. It was also sent to the contact person."
                )
                % {"reference": application.reference},
            )
            return redirect("registration:application_detail", access_key=application.access_key)
    return views._unit_render(
        request, programme=programme, form=form, formset=formset, extra_errors=extra_errors
    )


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def individual_reregister(request, trainee_pk: int):
    """A trainee's own refresher sign-up from the personal centre, pre-filled from the registration
    their certificate was issued on (their own study account's only)."""
    programme = selectors.programme_current()
    person = next(
        (row for row in user_people(user=request.user, programme=programme) if row.trainee.pk == trainee_pk),
        None,
    )
    if person is None:  # not one of the account's own certificates
        raise Http404
    programme, closed = views._programme_or_closed(request)
    if closed:
        return closed
    if person.registered:
        messages.info(
            request, _("You are already registered for %(programme)s.") % {"programme": programme.name}
        )
        return redirect("learning:centre")
    if request.method == "GET":
        initial = refresher_individual_initial(
            trainee=person.trainee, certificate_number=person.certificate_number
        )
        messages.info(
            request,
            _(
                "Refresher registration for %(programme)s, filled in with last year's data. Check and "
                "change anything that is no longer right, confirm the consent and submit."
            )
            % {"programme": programme.name},
        )
        return _private(
            views._individual_render(
                request, programme=programme, form=IndividualForm(initial=initial, programme=programme)
            )
        )
    if not views._signup_allowed(request):
        initial = {name: value for name, value in request.POST.items() if name != "csrfmiddlewaretoken"}
        return views._individual_render(
            request,
            programme=programme,
            form=IndividualForm(initial=initial, programme=programme),
            extra_errors=[views._signup_refused_message()],
            status=429,
        )
    form = IndividualForm(request.POST, programme=programme)
    extra_errors = []
    if form.is_valid():
        try:
            refresher_application_submit(
                programme=programme,
                applicant=form.applicant_data(),
                roster=[form.roster_data()],
                consents=form.consents_given(),
                ip=client_ip(request),
                sources=[person.trainee],
                individual=True,
            )
        except RosterValidationError as exc:
            extra_errors = views._roster_errors_apply(
                exc, form=form, rows=[(1, form)], field_map=IndividualForm.APPLICANT_FIELD_MAP
            )
        else:
            request.session[views.SESSION_SENT_MOBILE] = form.cleaned_data["mobile"]
            return redirect("registration:individual_sent")
    return views._individual_render(request, programme=programme, form=form, extra_errors=extra_errors)
