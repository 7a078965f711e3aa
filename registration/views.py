"""Public pages of registration: attachment 1 (unit or individual), the application page and
attachment 2 (the documents and the printable form: :mod:`registration.document_views`).

Units and trainees have no accounts: the application and each trainee are reached through private
links (``access_key``).

The sign-up forms tell no visitor whether somebody is registered: the individual form answers
every accepted submission with the same "an SMS is on its way" page, and a person already
registered hears about it on the mobile number on file
(:func:`registration.services.applications.application_submit_or_notify`). The unit's roster
accepts a row whose person is registered like any other, as a flagged duplicate that reviewers
reject (:func:`registration.services.applications.application_submit`): only the roster's own
mistakes are shown. Sign-up POSTs are limited per address (``REGISTRATION_RATE_SIGNUP_IP``).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.forms import form_errors_apply
from portal.http import client_ip
from portal.notifications import mask_mobile
from portal.ratelimit import ratelimit_hit, ratelimit_setting
from portal.spreadsheets import XLSX_CONTENT_TYPE

from . import selectors
from .consents import consent_field_name
from .documents import upload_limits
from .forms import (
    ApplicantForm,
    Attachment2Form,
    IndividualForm,
    RosterImportForm,
    roster_form_data,
    roster_formset,
    roster_rows_posted,
)
from .models import ApplicantKind, Trainee, TraineeStatus
from .roster_import import WorkbookError, roster_read, roster_template
from .selectors_programmes import programme_for_signup
from .services import review
from .services.applications import RosterValidationError, application_submit, application_submit_or_notify
from .services.attachment2 import (
    ATTACHMENT2_FILES,
    Attachment2Refused,
    trainee_attachment2_submit,
    trainee_documents_keep,
)
from .validators import id_number_mask

# Sign-up POSTs (submit, import, add rows) per address and window (seconds).
SIGNUP_RATE_IP = (20, 600)
SESSION_SENT_MOBILE = "registration_sent_mobile"
BLANK_ROWS_ADDED = 5
EDITABLE_STATUSES = (TraineeStatus.SUBMITTED, TraineeStatus.RETURNED)
STATUS_BADGES = {
    TraineeStatus.SUBMITTED: "text-bg-info",
    TraineeStatus.RETURNED: "text-bg-warning",
    TraineeStatus.APPROVED: "text-bg-success",
    TraineeStatus.REJECTED: "text-bg-danger",
    TraineeStatus.WITHDRAWN: "text-bg-secondary",
}


def _private(response):
    """Pages behind a private link: not cached, not indexed."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _programme_or_closed(request):
    """The programme of the sign-up form: ``?programme=<id>`` (the programme pages' buttons; the form
    posts back to the same address) while that one is open, else the current one."""
    programme = programme_for_signup(chosen=request.GET.get("programme"))
    if programme is None:
        return None, render(request, "registration/closed.html", status=200)
    return programme, None


def _signup_allowed(request) -> bool:
    """Count a sign-up POST of this address; ``False`` once it is over the limit."""
    limit, window = ratelimit_setting("REGISTRATION_RATE_SIGNUP_IP", SIGNUP_RATE_IP)
    return ratelimit_hit(scope="signup-ip", key=client_ip(request) or "", limit=limit, window_seconds=window)


def _signup_refused_message() -> str:
    _limit, window = ratelimit_setting("REGISTRATION_RATE_SIGNUP_IP", SIGNUP_RATE_IP)
    return _(
        "Too many sign-up attempts from your network in a short time. Nothing was saved: wait "
        "%(minutes)s minutes and submit again."
    ) % {"minutes": max(1, -(-window // 60))}


# --- Start page -----------------------------------------------------------------------------


@require_GET
def start(request):
    programme = selectors.programme_current()
    context = {"programme": programme}
    if programme is not None:
        context.update(
            fee_initial=selectors.yuan(programme.fee_initial_fen),
            fee_refresher=selectors.yuan(programme.fee_refresher_fen),
        )
    return render(request, "registration/start.html", context)


@require_GET
def roster_template_download(request):
    response = HttpResponse(roster_template(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_("roster-template") + ".xlsx"
    )
    return response


# --- Attachment 1 -----------------------------------------------------------------------------


def _error_summary(form, formset=None, extra=()) -> list[dict]:
    """Every error on the page, each naming its field (and roster row), with an anchor to the field."""
    summary = [{"text": str(message), "anchor": ""} for message in extra]
    for message in form.non_field_errors():
        summary.append({"text": message, "anchor": ""})
    for name, errors in form.errors.items():
        if name == "__all__":
            continue
        label = form.summary_label(name) if hasattr(form, "summary_label") else form.fields[name].label
        for message in errors:
            summary.append(
                {
                    "text": _("%(field)s: %(message)s") % {"field": label, "message": message},
                    "anchor": f"id_{name}",
                }
            )
    if formset is not None and formset.is_bound:
        for message in formset.non_form_errors():
            summary.append({"text": message, "anchor": "roster"})
        for index, row_form in enumerate(formset.forms):
            if not row_form.errors:
                continue
            for name, errors in row_form.errors.items():
                label = row_form.fields[name].label if name in row_form.fields else ""
                for message in errors:
                    summary.append(
                        {
                            "text": _("Roster row %(row)s, %(field)s: %(message)s")
                            % {"row": index + 1, "field": label, "message": message}
                            if label
                            else _("Roster row %(row)s: %(message)s")
                            % {"row": index + 1, "message": message},
                            "anchor": f"id_{row_form.prefix}-{name}" if label else f"row-{row_form.prefix}",
                        }
                    )
    return summary


def _roster_errors_apply(exc, *, form, rows, field_map=None) -> list[str]:
    """Put a :class:`RosterValidationError` onto the forms; return messages that fit no field."""
    applicant = {name: messages for name, messages in exc.applicant_errors.items() if name != "roster"}
    leftovers = list(exc.applicant_errors.get("roster", []))
    if applicant:
        form_errors_apply(form, ValidationError(applicant), field_map=field_map)
    for number, fields in exc.row_errors.items():
        if 1 <= number <= len(rows):
            form_errors_apply(rows[number - 1][1], ValidationError(fields))
        else:
            leftovers.extend(str(m) for messages_list in fields.values() for m in messages_list)
    return leftovers


def _unit_render(
    request, *, programme, form, formset, import_form=None, import_report=None, extra_errors=(), status=200
):
    context = {
        "form": form,
        "formset": formset,
        "import_form": import_form or RosterImportForm(),
        "import_report": import_report,
        "error_summary": _error_summary(form, formset, extra_errors),
        "programme": programme,
    }
    return render(request, "registration/unit_form.html", context, status=status)


def _applicant_initial(data) -> dict:
    names = [*ApplicantForm.base_fields, *(consent_field_name(kind) for kind in ApplicantForm.consent_kinds)]
    return {name: data.get(name, "") for name in names if data.get(name)}


@require_http_methods(["GET", "POST"])
def unit_register(request):
    programme, closed = _programme_or_closed(request)
    if closed:
        return closed
    if request.method == "GET":
        return _unit_render(
            request,
            programme=programme,
            form=ApplicantForm(programme=programme),
            formset=roster_formset(blank_rows=1, programme=programme),
        )
    if not _signup_allowed(request):
        return _unit_refused(request, programme, _signup_refused_message())
    action = request.POST.get("action", "submit")
    if action == "import":
        return _unit_import(request, programme)
    if action == "add_rows":
        # Without JavaScript: the page comes back with what was typed and some blank rows.
        return _unit_render(
            request,
            programme=programme,
            form=ApplicantForm(initial=_applicant_initial(request.POST), programme=programme),
            formset=roster_formset(
                initial=roster_rows_posted(request.POST), blank_rows=BLANK_ROWS_ADDED, programme=programme
            ),
        )

    form = ApplicantForm(request.POST, programme=programme)
    formset = roster_formset(request.POST, programme=programme)
    extra_errors = []
    form_ok = form.is_valid()
    if formset.is_valid() and form_ok:
        rows = formset.rows()
        try:
            application = application_submit(
                programme=programme,
                applicant=form.applicant_data(),
                roster=[row_form.roster_data() for _number, row_form in rows],
                consents=form.consents_given(),
                ip=client_ip(request),
            )
        except RosterValidationError as exc:
            extra_errors = _roster_errors_apply(exc, form=form, rows=rows)
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
    return _unit_render(request, programme=programme, form=form, formset=formset, extra_errors=extra_errors)


def _unit_refused(request, programme, message: str):
    """The unit's page again with what was typed (nothing saved) and ``message``, as 429."""
    posted_rows = roster_rows_posted(request.POST)
    return _unit_render(
        request,
        programme=programme,
        form=ApplicantForm(initial=_applicant_initial(request.POST), programme=programme),
        formset=roster_formset(initial=posted_rows, blank_rows=0 if posted_rows else 1, programme=programme),
        extra_errors=[message],
        status=429,
    )


def _unit_import(request, programme):
    """Append the rows of an uploaded workbook to the roster; fill empty unit fields from it."""
    posted_rows = roster_rows_posted(request.POST)
    initial = _applicant_initial(request.POST)
    import_form = RosterImportForm(request.POST, request.FILES)
    report = {"errors": [], "added": 0, "first_row": len(posted_rows) + 1}
    if not import_form.is_valid():
        report["errors"] = [str(m) for m in import_form.errors.get("workbook", [])]
        return _unit_render(
            request,
            programme=programme,
            form=ApplicantForm(initial=initial, programme=programme),
            formset=roster_formset(
                initial=posted_rows, blank_rows=0 if posted_rows else 1, programme=programme
            ),
            import_form=RosterImportForm(),
            import_report=report,
        )
    try:
        result = roster_read(import_form.cleaned_data["workbook"], programme=programme)
    except WorkbookError as exc:
        report["errors"] = [str(exc)]
        return _unit_render(
            request,
            programme=programme,
            form=ApplicantForm(initial=initial, programme=programme),
            formset=roster_formset(
                initial=posted_rows, blank_rows=0 if posted_rows else 1, programme=programme
            ),
            import_form=RosterImportForm(),
            import_report=report,
        )
    for name, value in result.applicant.items():
        if name in ApplicantForm.base_fields and not initial.get(name):
            initial[name] = value
    offset = len(posted_rows)
    report["errors"] = result.errors
    report["added"] = len(result.rows)
    report["bad_rows"] = [
        {"excel_row": excel_row, "roster_row": offset + position + 1}
        for position, (excel_row, ok) in enumerate(zip(result.excel_rows, result.valid, strict=True))
        if not ok
    ]
    rows = posted_rows + result.rows
    if rows and not all(result.valid):
        # Bound, so every bad row shows its errors where it is, as on submit.
        formset = roster_formset(roster_form_data(rows), programme=programme)
        formset.is_valid()
    else:
        # All rows read cleanly: no need to check them a second time before the page is shown.
        formset = roster_formset(initial=rows, blank_rows=0 if rows else 1, programme=programme)
    form = ApplicantForm(initial=initial, programme=programme)
    return _unit_render(
        request,
        programme=programme,
        form=form,
        formset=formset,
        import_form=RosterImportForm(),
        import_report=report,
    )


def _individual_render(request, *, programme, form, extra_errors=(), status=200):
    context = {
        "form": form,
        "programme": programme,
        "error_summary": _error_summary(form, None, extra_errors) if form.is_bound or extra_errors else [],
    }
    return render(request, "registration/individual_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def individual_register(request):
    """One person signs up. Every accepted submission gets the same answer, a page saying the link
    comes by SMS, whether or not the person (or the mobile number) is registered already."""
    programme, closed = _programme_or_closed(request)
    if closed:
        return closed
    if request.method == "GET":
        return _individual_render(request, programme=programme, form=IndividualForm(programme=programme))
    if not _signup_allowed(request):
        initial = {name: value for name, value in request.POST.items() if name != "csrfmiddlewaretoken"}
        return _individual_render(
            request,
            programme=programme,
            form=IndividualForm(initial=initial, programme=programme),
            extra_errors=[_signup_refused_message()],
            status=429,
        )
    form = IndividualForm(request.POST, programme=programme)
    extra_errors = []
    if form.is_valid():
        try:
            application_submit_or_notify(
                programme=programme,
                applicant=form.applicant_data(),
                roster=[form.roster_data()],
                consents=form.consents_given(),
                ip=client_ip(request),
            )
        except RosterValidationError as exc:
            extra_errors = _roster_errors_apply(
                exc, form=form, rows=[(1, form)], field_map=IndividualForm.APPLICANT_FIELD_MAP
            )
        else:
            request.session[SESSION_SENT_MOBILE] = form.cleaned_data["mobile"]
            return redirect("registration:individual_sent")
    return _individual_render(request, programme=programme, form=form, extra_errors=extra_errors)


@never_cache
@require_GET
def individual_sent(request):
    """After an individual sign-up: the link comes by SMS (the same page whatever happened)."""
    mobile = request.session.get(SESSION_SENT_MOBILE, "")
    context = {"mobile_masked": mask_mobile(mobile) if len(mobile) == 11 else ""}
    return _private(render(request, "registration/individual_sent.html", context))


# --- The application page -------------------------------------------------------------------


@never_cache
@require_GET
def application_detail(request, access_key):
    application = selectors.application_by_access_key(access_key)
    if application is None:
        raise Http404
    trainees = list(application.trainees.all())
    summary = selectors.application_fee_summary(application, trainees)
    money = selectors.application_money(application=application, trainees=trainees)
    money_rows = {row.trainee.pk: row for row in money.rows}
    context = {
        "application": application,
        "programme": application.programme,
        "summary": summary,
        "money": money,
        "fee_initial": selectors.yuan(summary.fee_initial_fen),
        "fee_refresher": selectors.yuan(summary.fee_refresher_fen),
        "lines": [
            {
                "trainee": line.trainee,
                "fee": selectors.yuan(line.fee_fen),
                "money": money_rows[line.trainee.pk],
                "live": line.live,
                "withdrawable": line.trainee.status in EDITABLE_STATUSES,
                "complete": line.trainee.attachment2_complete,
                "badge": STATUS_BADGES.get(line.trainee.status, "text-bg-secondary"),
                "id_masked": line.trainee.id_number_masked or id_number_mask(line.trainee.id_number),
                "show_reason": line.trainee.status in (TraineeStatus.RETURNED, TraineeStatus.REJECTED)
                and line.trainee.status_reason,
                # Issue #19 point 6: correct the row until reviewed; copy / share the trainee's link.
                "editable": line.trainee.status in EDITABLE_STATUSES and not application.purged_at,
                "share_url": request.build_absolute_uri(
                    reverse("registration:attachment2", args=[line.trainee.access_key])
                ),
            }
            for line in summary.lines
        ],
        "statuses": TraineeStatus,
        "can_add": application.kind == ApplicantKind.UNIT
        and not application.purged_at
        and application.programme.is_open_on(timezone.localdate()),
    }
    return _private(render(request, "registration/application_detail.html", context))


@require_POST
def trainee_withdraw(request, access_key, trainee_pk):
    application = selectors.application_by_access_key(access_key)
    if application is None:
        raise Http404
    trainee = get_object_or_404(Trainee, pk=trainee_pk, application=application)
    try:
        review.trainee_withdraw(trainee=trainee, ip=client_ip(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The registration of %(name)s is withdrawn.") % {"name": trainee.name})
    return redirect("registration:application_detail", access_key=access_key)


# --- Attachment 2 ---------------------------------------------------------------------------


def _attachment2_initial(trainee) -> dict:
    application = trainee.application
    return {
        "education": trainee.education,
        "safety_years": trainee.safety_years,
        "work_unit": trainee.work_unit
        or (
            application.unit_name
            if application.kind == "unit" or application.unit_name != trainee.name
            else ""
        ),
        "work_unit_address": trainee.work_unit_address,
        "mailing_address": trainee.mailing_address or application.mail_address,
        "landline": trainee.landline,
        "email": trainee.email,
        "work_history": trainee.work_history,
        # After saving, the signature and the consents show as given.
        "declaration_name": trainee.declaration_name if trainee.declared_at else "",
        **{
            consent_field_name(kind): True
            for kind in selectors.trainee_consented_kinds(trainee, given_by=Attachment2Form.consent_given_by)
            if kind in Attachment2Form.consent_kinds
        },
    }


@never_cache
@require_http_methods(["GET", "POST"])
def attachment2(request, access_key):
    trainee = selectors.trainee_by_access_key(access_key)
    if trainee is None:
        raise Http404
    editable = trainee.status in EDITABLE_STATUSES
    if request.method == "POST":
        if not editable:
            messages.error(
                request,
                _("The information form can no longer be changed: the registration is “%(status)s”.")
                % {"status": trainee.get_status_display()},
            )
            return redirect("registration:attachment2", access_key=access_key)
        form = Attachment2Form(request.POST, request.FILES, trainee=trainee)
        kept: list[str] = []
        if not form.is_valid():
            # The rest of the form is refused: the valid documents are kept all the same.
            result = trainee_documents_keep(
                trainee=trainee, files=form.service_files(), ip=client_ip(request)
            )
            kept = result.kept
            for name, errors in result.errors.items():
                for message in errors:
                    form.add_error(name, message)
        else:
            was_returned = trainee.status == TraineeStatus.RETURNED
            try:
                trainee_attachment2_submit(
                    trainee=trainee,
                    data=form.service_data(),
                    files=form.service_files(),
                    consents=form.consents_given(),
                    ip=client_ip(request),
                )
            except Attachment2Refused as exc:
                form_errors_apply(form, exc)
                kept = exc.kept
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _("Your corrected information form is submitted for review again.")
                    if was_returned
                    else _("Your information form is saved. Association staff will review it."),
                )
                return redirect("registration:attachment2", access_key=access_key)
        if kept:
            trainee.refresh_from_db()
            messages.info(
                request,
                _(
                    "Saved: %(documents)s. You need not choose them again; correct the rest and submit the form."
                )
                % {
                    "documents": pgettext("list separator", ", ").join(
                        str(Attachment2Form.base_fields[name].label) for name in kept
                    )
                },
            )
    else:
        form = Attachment2Form(initial=_attachment2_initial(trainee), trainee=trainee)
    context = {
        "trainee": trainee,
        "application": trainee.application,
        "programme": trainee.programme,
        "form": form,
        "editable": editable,
        "statuses": TraineeStatus,
        "id_masked": trainee.id_number_masked or id_number_mask(trainee.id_number),
        "documents": [
            {
                "kind": kind,
                "label": Attachment2Form.base_fields[kind].label,
                "present": bool(getattr(trainee, kind)),
                "field": form[kind],
                "url": reverse("registration:trainee_document", args=[trainee.access_key, kind]),
            }
            for kind in ATTACHMENT2_FILES
        ],
        "error_summary": _error_summary(form) if form.is_bound else [],
        "limits": upload_limits(),
    }
    return _private(render(request, "registration/attachment2.html", context))
