"""Public pages of registration: attachment 1 (unit or individual), the application page, attachment 2,
and the protected documents and printable attachment 2.

Units and trainees have no accounts: the application and each trainee are reached through private
links (``access_key``). Personal documents are only ever streamed by the views below, which check
the link or the staff permission; they have no public URL.
"""

import mimetypes

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.views import client_ip

from . import selectors, services
from .consents import consent_field_name
from .forms import (
    ApplicantForm,
    Attachment2Form,
    IndividualForm,
    RosterImportForm,
    roster_form_data,
    roster_formset,
    roster_rows_posted,
)
from .models import Trainee, TraineeStatus
from .pdf import attachment2_pdf
from .roster_import import XLSX_CONTENT_TYPE, WorkbookError, roster_read, roster_template
from .validators import id_number_mask

DOCUMENT_KINDS = ("photo", "id_front", "id_back")
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
    programme = selectors.programme_current()
    if programme is None:
        return None, render(request, "registration/closed.html", status=200)
    return programme, None


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


def _add_errors(form, field, messages_list) -> None:
    for message in messages_list:
        form.add_error(field if field in form.fields else None, message)


def _roster_errors_apply(exc, *, form, rows, field_map=None) -> list[str]:
    """Put a :class:`RosterValidationError` onto the forms; return messages that fit no field."""
    leftovers = []
    for name, messages_list in exc.applicant_errors.items():
        target = (field_map or {}).get(name, name)
        if target in form.fields:
            _add_errors(form, target, messages_list)
        elif name == "roster":
            leftovers.extend(messages_list)
        else:
            _add_errors(form, None, messages_list)
    for number, fields in exc.row_errors.items():
        if 1 <= number <= len(rows):
            row_form = rows[number - 1][1]
            for name, messages_list in fields.items():
                _add_errors(row_form, name, messages_list)
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
            request, programme=programme, form=ApplicantForm(), formset=roster_formset(blank_rows=1)
        )
    action = request.POST.get("action", "submit")
    if action == "import":
        return _unit_import(request, programme)
    if action == "add_rows":
        # Without JavaScript: the page comes back with what was typed and some blank rows.
        return _unit_render(
            request,
            programme=programme,
            form=ApplicantForm(initial=_applicant_initial(request.POST)),
            formset=roster_formset(initial=roster_rows_posted(request.POST), blank_rows=BLANK_ROWS_ADDED),
        )

    form = ApplicantForm(request.POST)
    formset = roster_formset(request.POST)
    extra_errors = []
    form_ok = form.is_valid()
    if formset.is_valid() and form_ok:
        rows = formset.rows()
        try:
            application = services.application_submit(
                programme=programme,
                applicant=form.applicant_data(),
                roster=[row_form.roster_data() for _number, row_form in rows],
                consents=form.consents_given(),
                ip=client_ip(request),
            )
        except services.RosterValidationError as exc:
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
            form=ApplicantForm(initial=initial),
            formset=roster_formset(initial=posted_rows, blank_rows=0 if posted_rows else 1),
            import_form=RosterImportForm(),
            import_report=report,
        )
    try:
        result = roster_read(import_form.cleaned_data["workbook"])
    except WorkbookError as exc:
        report["errors"] = [str(exc)]
        return _unit_render(
            request,
            programme=programme,
            form=ApplicantForm(initial=initial),
            formset=roster_formset(initial=posted_rows, blank_rows=0 if posted_rows else 1),
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
        formset = roster_formset(roster_form_data(rows))
        formset.is_valid()
    else:
        # All rows read cleanly: no need to check them a second time before the page is shown.
        formset = roster_formset(initial=rows, blank_rows=0 if rows else 1)
    form = ApplicantForm(initial=initial)
    return _unit_render(
        request,
        programme=programme,
        form=form,
        formset=formset,
        import_form=RosterImportForm(),
        import_report=report,
    )


@require_http_methods(["GET", "POST"])
def individual_register(request):
    programme, closed = _programme_or_closed(request)
    if closed:
        return closed
    extra_errors = []
    if request.method == "POST":
        form = IndividualForm(request.POST)
        if form.is_valid():
            try:
                application = services.application_submit(
                    programme=programme,
                    applicant=form.applicant_data(),
                    roster=[form.roster_data()],
                    consents=form.consents_given(),
                    ip=client_ip(request),
                )
            except services.RosterValidationError as exc:
                extra_errors = _roster_errors_apply(
                    exc, form=form, rows=[(1, form)], field_map=IndividualForm.APPLICANT_FIELD_MAP
                )
            else:
                messages.success(
                    request,
                    _(
                        "Registration %(reference)s is submitted. Now complete your information form "
                        "(attachment 2) with the button below; keep the link of this page."
                    )
                    % {"reference": application.reference},
                )
                return redirect("registration:application_detail", access_key=application.access_key)
    else:
        form = IndividualForm()
    context = {
        "form": form,
        "programme": programme,
        "error_summary": _error_summary(form, None, extra_errors) if form.is_bound else [],
    }
    return render(request, "registration/individual_form.html", context)


# --- The application page -------------------------------------------------------------------


@never_cache
@require_GET
def application_detail(request, access_key):
    application = selectors.application_by_access_key(access_key)
    if application is None:
        raise Http404
    trainees = list(application.trainees.all())
    summary = selectors.application_fee_summary(application, trainees)
    context = {
        "application": application,
        "programme": application.programme,
        "summary": summary,
        "fee_initial": selectors.yuan(summary.fee_initial_fen),
        "fee_refresher": selectors.yuan(summary.fee_refresher_fen),
        "lines": [
            {
                "trainee": line.trainee,
                "fee": selectors.yuan(line.fee_fen),
                "live": line.live,
                "withdrawable": line.trainee.status in EDITABLE_STATUSES,
                "complete": line.trainee.attachment2_complete,
                "badge": STATUS_BADGES.get(line.trainee.status, "text-bg-secondary"),
                "id_masked": line.trainee.id_number_masked or id_number_mask(line.trainee.id_number),
                "show_reason": line.trainee.status in (TraineeStatus.RETURNED, TraineeStatus.REJECTED)
                and line.trainee.status_reason,
            }
            for line in summary.lines
        ],
        "statuses": TraineeStatus,
    }
    return _private(render(request, "registration/application_detail.html", context))


@require_POST
def trainee_withdraw(request, access_key, trainee_pk):
    application = selectors.application_by_access_key(access_key)
    if application is None:
        raise Http404
    trainee = get_object_or_404(Trainee, pk=trainee_pk, application=application)
    try:
        services.trainee_withdraw(trainee=trainee, ip=client_ip(request))
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
    }


def _service_errors_apply(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            for error in errors:
                for message in error.messages:
                    form.add_error(name if name in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


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
        if form.is_valid():
            was_returned = trainee.status == TraineeStatus.RETURNED
            try:
                services.trainee_attachment2_submit(
                    trainee=trainee,
                    data=form.service_data(),
                    files=form.service_files(),
                    consents=form.consents_given(),
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                _service_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _("Your corrected information form is submitted for review again.")
                    if was_returned
                    else _("Your information form is saved. Association staff will review it."),
                )
                return redirect("registration:attachment2", access_key=access_key)
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
            for kind in DOCUMENT_KINDS
        ],
        "error_summary": _error_summary(form) if form.is_bound else [],
    }
    return _private(render(request, "registration/attachment2.html", context))


# --- Protected documents and the printable attachment 2 ------------------------------------


def _sniff_content_type(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _document_response(trainee: Trainee, kind: str):
    if kind not in DOCUMENT_KINDS:
        raise Http404
    field_file = getattr(trainee, kind)
    if not field_file:
        raise Http404
    try:
        handle = field_file.storage.open(field_file.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    content_type = _sniff_content_type(handle.read(16))
    handle.seek(0)
    if content_type is None:
        guessed = mimetypes.guess_type(field_file.name)[0]
        content_type = guessed if guessed in ("image/jpeg", "image/png") else "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    extension = mimetypes.guess_extension(content_type) or ".bin"
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=False, filename=f"{kind}{'.jpg' if extension == '.jpeg' else extension}"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


FULL_ID_PERMISSION = "registration.view_full_id_number"
# Documents that show the full ID number.
ID_DOCUMENT_KINDS = ("id_front", "id_back")


def _staff_trainee(request, trainee_pk):
    """The trainee, for staff allowed to see trainees; others go to the admin log-in or get 403."""
    user = request.user
    if not user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not (user.is_active and user.is_staff and user.has_perm("registration.view_trainee")):
        raise PermissionDenied
    return get_object_or_404(Trainee.objects.select_related("programme", "application"), pk=trainee_pk), None


@require_GET
def trainee_document(request, access_key, kind):
    trainee = selectors.trainee_by_access_key(access_key)
    if trainee is None:
        raise Http404
    return _document_response(trainee, kind)


@require_GET
def staff_document(request, trainee_pk, kind):
    """A document for staff. The ID card copies show the full ID number: they need the full-ID
    permission, and each view is written to the audit log (who, when, which, from where)."""
    trainee, refused = _staff_trainee(request, trainee_pk)
    if refused:
        return refused
    if kind in ID_DOCUMENT_KINDS and not request.user.has_perm(FULL_ID_PERMISSION):
        raise PermissionDenied
    response = _document_response(trainee, kind)
    if kind in ID_DOCUMENT_KINDS:
        services.trainee_full_id_view_record(
            trainee=trainee, viewer=request.user, what=kind, ip=client_ip(request)
        )
    return response


def _pdf_response(trainee: Trainee, *, full_id: bool = False):
    response = HttpResponse(attachment2_pdf(trainee, full_id=full_id), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=False, filename=_("attachment2-%(name)s.pdf") % {"name": trainee.name}
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def attachment2_print(request, access_key):
    trainee = selectors.trainee_by_access_key(access_key)
    if trainee is None:
        raise Http404
    return _pdf_response(trainee)


@require_GET
def staff_attachment2_print(request, trainee_pk):
    """The printable attachment 2 for staff: the full ID number only with the full-ID permission,
    and then the view is audited."""
    trainee, refused = _staff_trainee(request, trainee_pk)
    if refused:
        return refused
    full = request.user.has_perm(FULL_ID_PERMISSION)
    response = _pdf_response(trainee, full_id=full)
    if full:
        services.trainee_full_id_view_record(
            trainee=trainee, viewer=request.user, what="attachment2_pdf", ip=client_ip(request)
        )
    return response
