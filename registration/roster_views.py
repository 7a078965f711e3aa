"""The application page's roster after submission (issue #19 point 6): through the application's
private link the contact corrects a trainee's details or adds a trainee, while the trainee is not
yet reviewed (:mod:`registration.services.roster_edits` decides and audits)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.forms import form_errors_apply
from portal.http import client_ip

from . import selectors
from .models import ApplicantKind, Trainee
from .services.roster_edits import (
    ROSTER_EDITABLE_STATUSES,
    application_trainee_add,
    registration_trainee_update,
)
from .units.forms import TraineeAddForm, TraineeRowForm
from .views import _private


def _application(access_key: str):
    application = selectors.application_by_access_key(access_key)
    if application is None or application.purged_at is not None:
        raise Http404
    return application


def _detail_url(application) -> str:
    return reverse("registration:application_detail", args=[application.access_key])


def _render(request, *, application, form, trainee=None):
    context = {
        "application": application,
        "programme": application.programme,
        "form": form,
        "trainee": trainee,
    }
    return _private(render(request, "registration/trainee_edit.html", context))


@never_cache
@require_http_methods(["GET", "POST"])
def trainee_edit(request, access_key: str, trainee_pk: int):
    application = _application(access_key)
    trainee = get_object_or_404(Trainee, pk=trainee_pk, application=application)
    if trainee.status not in ROSTER_EDITABLE_STATUSES:
        messages.error(
            request,
            _(
                "The registration of %(name)s is “%(status)s”: it can no longer be changed. To correct it, "
                "contact the association."
            )
            % {"name": trainee.name, "status": trainee.get_status_display()},
        )
        return redirect("registration:application_detail", access_key=access_key)
    initial = {
        "name": trainee.name,
        "mobile": trainee.mobile,
        "email": trainee.email,
        "certificate_type": trainee.certificate_type,
        "training_category": trainee.training_category,
        "previous_certificate_no": trainee.previous_certificate_no,
    }
    form = TraineeRowForm(
        request.POST or None, initial=initial, trainee=trainee, programme=application.programme
    )
    if request.method == "POST" and form.is_valid():
        try:
            registration_trainee_update(trainee=trainee, row=form.roster_data(), ip=client_ip(request))
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            messages.success(
                request, _("The details of %(name)s are saved.") % {"name": form.cleaned_data["name"]}
            )
            return redirect(f"{_detail_url(application)}#trainee-{trainee.pk}")
    return _render(request, application=application, form=form, trainee=trainee)


@never_cache
@require_http_methods(["GET", "POST"])
def trainee_add(request, access_key: str):
    application = _application(access_key)
    if application.kind != ApplicantKind.UNIT:
        raise Http404
    form = TraineeAddForm(request.POST or None, programme=application.programme)
    if request.method == "POST" and form.is_valid():
        try:
            trainee = application_trainee_add(
                application=application,
                row=form.roster_data(),
                consents=form.consents_given(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s is added. The link to their information form was sent to their mobile.")
                % {"name": trainee.name},
            )
            return redirect(f"{_detail_url(application)}#trainee-{trainee.pk}")
    return _render(request, application=application, form=form)
