"""Admin bulk actions: run one service per selected row and say what happened to each.

Every bulk action in every app goes through :func:`bulk_run`: the service of the transition is
called row by row (each call is its own transaction, so one refused row does not undo the
others), a rule the service refuses (``ValidationError`` / ``PermissionDenied``) is reported for
that row, and the person sees one message for the rows done and one per row not done.
:func:`reason_step` is the intermediate page of actions that need a reason (return, reject,
revoke, confirm despite a mismatch); :func:`confirm_step` the "are you sure?" page of actions that
need none but must not apply at once (confirming payments).

Example::

    @admin.action(description=_("Approve the selected registrations"), permissions=["review"])
    def approve_selected(self, request, queryset):
        bulk_run(
            modeladmin=self, request=request, objects=queryset.order_by("pk"),
            call=lambda trainee: trainee_approve(trainee=trainee, reviewer=request.user, ip=...),
            done_message=_("Approved (%(count)s): %(names)s"),
        )
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from .forms import ReasonForm


@dataclass
class BulkOutcome:
    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def bulk_run(
    *,
    modeladmin,
    request,
    objects: Iterable[models.Model],
    call: Callable[[models.Model], Any],
    done_message: str,
    label: Callable[[models.Model], str] = str,
) -> BulkOutcome:
    """Call ``call(obj)`` for each object; report ``done_message`` (with ``%(count)s`` and
    ``%(names)s``) for the successes and one error line per refusal. Returns the outcome."""
    outcome = BulkOutcome()
    for obj in objects:
        try:
            call(obj)
        except (ValidationError, PermissionDenied) as exc:
            text = (
                " ".join(exc.messages)
                if isinstance(exc, ValidationError)
                else (str(exc) or _("Not allowed."))
            )
            outcome.failed.append((label(obj), text))
        else:
            outcome.done.append(label(obj))
    if outcome.done:
        modeladmin.message_user(
            request,
            done_message % {"count": len(outcome.done), "names": "、".join(outcome.done)},
            messages.SUCCESS,
        )
    for name, error in outcome.failed:
        modeladmin.message_user(
            request, _("%(name)s: not done: %(error)s") % {"name": name, "error": error}, messages.ERROR
        )
    return outcome


def reason_step(
    *,
    modeladmin,
    request,
    queryset,
    action: str,
    title: str,
    apply: Callable[[str], Any],
    columns: Sequence[tuple[str, Callable[[models.Model], Any]]] = (),
    warning: str = "",
    help_text: str = "",
    presets: Sequence[str] = (),
):
    """The page that asks for a reason before a bulk action. On a valid "apply" post, calls
    ``apply(reason)`` and returns ``None`` (the admin goes back to the list); otherwise returns
    the page listing the selected rows (``columns``: header and value of each column).
    ``presets``: preset reasons offered as tick boxes beside the free text (see ``ReasonForm``)."""
    posted = "apply" in request.POST
    form = ReasonForm(request.POST if posted else None, help_text=help_text, presets=presets)
    if posted and form.is_valid():
        apply(form.cleaned_data["reason"])
        return None
    objects = list(queryset)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": form,
        "action": action,
        "warning": warning,
        "headers": [header for header, _value in columns] or [modeladmin.model._meta.verbose_name],
        "rows": [
            (obj.pk, [value(obj) for _header, value in columns] if columns else [str(obj)]) for obj in objects
        ],
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/portal/action_reason.html", context)


def confirm_step(
    *,
    modeladmin,
    request,
    queryset,
    action: str,
    title: str,
    apply: Callable[[], Any],
    columns: Sequence[tuple[str, Callable[[models.Model], Any]]] = (),
    warning: str = "",
):
    """The confirmation page of a bulk action: lists the selected rows; the action runs (``apply()``,
    then ``None`` is returned and the admin goes back to the list) only on the page's own "apply"
    post, never on the first post from the list."""
    if "apply" in request.POST:
        apply()
        return None
    objects = list(queryset)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": None,
        "action": action,
        "warning": warning,
        "headers": [header for header, _value in columns] or [modeladmin.model._meta.verbose_name],
        "rows": [
            (obj.pk, [value(obj) for _header, value in columns] if columns else [str(obj)]) for obj in objects
        ],
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    return TemplateResponse(request, "admin/portal/action_reason.html", context)
