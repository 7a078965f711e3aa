"""The review queue (``/admin/registration/trainee/review-queue/``): one trainee awaiting review at
a time, the longest waiting first, with attachments 1 and 2 and the documents side by side;
approve / return / reject (with the preset reasons) by button or keyboard (``review_queue.js``),
then the next one. The decisions call the same services as the trainee page
(:mod:`registration.services.review`, audited there); the claims of
:mod:`registration.services.review_queue` keep two reviewers off the same trainee."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.forms import ReasonForm
from portal.http import client_ip

from ..models import Programme, Trainee, TraineeStatus
from ..selectors import return_reasons_active, trainees_review_queue
from ..services.attachment2 import ATTACHMENT2_FILES
from ..services.personal_data import trainee_full_id_view_record
from ..services.review import trainee_approve, trainee_reject, trainee_return
from ..services.review_queue import trainee_review_next, trainee_review_release
from ..validators import id_number_mask
from .common import REASON_HELP, can_see_full_id, duplicate_marker, industry_label, outside_area_marker

SKIPPED_SESSION_KEY = "review_queue_skipped"
MAX_SKIPPED = 200

#: decision -> (button label, keyboard shortcut, needs a reason)
QUEUE_DECISIONS = {
    "approve": (_("Approve"), "a", False),
    "return": (_("Return for correction"), "r", True),
    "reject": (_("Reject"), "x", True),
}
DONE_MESSAGES = {
    "approve": _("Approved: %(name)s."),
    "return": _("Returned for correction: %(name)s."),
    "reject": _("Rejected: %(name)s."),
}


def trainee_paper_context(request, trainee: Trainee, *, what: str) -> dict:
    """Attachments 1 and 2 of ``trainee`` as the trainee page shows them (the partials
    ``registration/admin/attachment1.html`` and ``attachment2.html``): full ID numbers and the ID
    card copies only for staff who may see them, each such view audited as ``what``."""
    full = can_see_full_id(request.user)
    roster = list(trainee.application.trainees.order_by("row_number"))
    for row in roster:
        row.id_number_shown = row.id_number if full else id_number_mask(row.id_number)
    if full and request.method == "GET":
        trainee_full_id_view_record(
            trainee=trainee,
            viewer=request.user,
            what=what,
            trainee_ids=[row.pk for row in roster if row.id_number],
            ip=client_ip(request),
        )
    return {
        "trainee": trainee,
        "application": trainee.application,
        "roster": roster,
        "industry_label": industry_label(trainee.application.industry),
        "id_number_shown": trainee.id_number if full else id_number_mask(trainee.id_number),
        "full_id": full,
        "documents": [
            (
                kind,
                Trainee._meta.get_field(kind).verbose_name,
                reverse("registration:staff_document", args=[trainee.pk, kind])
                if full or kind == "photo"
                else "",
            )
            for kind in ATTACHMENT2_FILES
            if getattr(trainee, kind)
        ],
        "duplicate_marker": duplicate_marker(trainee),
        "area_marker": outside_area_marker(trainee.application),
    }


class ReviewQueueMixin:
    """Mixed into ``TraineeAdmin`` (before ``ModelAdmin``): the queue page and its URL."""

    def get_urls(self):
        return [
            path(
                "review-queue/",
                self.admin_site.admin_view(self.review_queue_view),
                name="registration_trainee_review_queue",
            ),
            *super().get_urls(),
        ]

    def review_queue_view(self, request):
        if not self.has_review_permission(request):
            raise PermissionDenied
        programme_id = _int_or_none(request.GET.get("programme"))
        queue_url = reverse("admin:registration_trainee_review_queue")
        if programme_id:
            queue_url += "?" + urlencode({"programme": programme_id})
        skipped = list(request.session.get(SKIPPED_SESSION_KEY, []))
        form = None
        if request.method == "POST":
            if "restart" in request.POST:
                request.session.pop(SKIPPED_SESSION_KEY, None)
                return redirect(queue_url)
            trainee = (
                Trainee.objects.select_related("application", "programme")
                .filter(pk=_int_or_none(request.POST.get("trainee")))
                .first()
            )
            decision = request.POST.get("decision", "")
            if trainee is None or decision not in {*QUEUE_DECISIONS, "skip"}:
                return redirect(queue_url)
            if decision == "skip":
                request.session[SKIPPED_SESSION_KEY] = [*skipped, trainee.pk][-MAX_SKIPPED:]
                trainee_review_release(trainee_id=trainee.pk, reviewer=request.user)
                return redirect(queue_url)
            form = self._queue_decide(request, trainee, decision)
            if form is None:
                return redirect(queue_url)
        else:
            trainee = trainee_review_next(reviewer=request.user, programme_id=programme_id, skipped=skipped)
        presets = return_reasons_active()
        if form is None:
            form = ReasonForm(help_text=REASON_HELP, presets=presets)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Review queue"),
            "programmes": Programme.objects.order_by("-pk"),
            "programme_id": programme_id,
            "waiting": trainees_review_queue(programme_id=programme_id).count(),
            "skipped_count": len(skipped),
            "form": form,
            "queue_url": queue_url,
            "trainee": None,
            "decisions": [],
            "media": self.media,
        }
        if trainee is not None:
            context.update(trainee_paper_context(request, trainee, what="admin_review_queue"))
            allowed = {name for name, _label in self._review_actions(trainee)}
            context["decisions"] = [
                (decision, label, key, needs_reason, decision in allowed)
                for decision, (label, key, needs_reason) in QUEUE_DECISIONS.items()
            ]
            context["change_url"] = reverse("admin:registration_trainee_change", args=[trainee.pk])
        return TemplateResponse(request, "registration/admin/review_queue.html", context)

    def _queue_decide(self, request, trainee: Trainee, decision: str) -> ReasonForm | None:
        """Apply ``decision``; ``None`` when done (or refused: the message says why), else the
        reason form with its errors (the same trainee is shown again)."""
        _label, _key, needs_reason = QUEUE_DECISIONS[decision]
        form = ReasonForm(request.POST, help_text=REASON_HELP, presets=return_reasons_active())
        if needs_reason and not form.is_valid():
            return form
        reason = form.cleaned_data["reason"] if needs_reason else ""
        ip = client_ip(request)
        try:
            if decision == "approve":
                trainee_approve(trainee=trainee, reviewer=request.user, ip=ip)
            elif decision == "return":
                trainee_return(trainee=trainee, reviewer=request.user, reason=reason, ip=ip)
            else:
                trainee_reject(trainee=trainee, reviewer=request.user, reason=reason, ip=ip)
        except ValidationError as exc:
            trainee.refresh_from_db(fields=["status"])
            if (
                getattr(exc, "code", None) == "transition_refused"
                and trainee.status != TraineeStatus.SUBMITTED
            ):
                message = gettext(
                    "%(name)s was reviewed meanwhile by someone else (now “%(status)s”): nothing was "
                    "changed. Here is the next one."
                ) % {"name": trainee.name, "status": trainee.get_status_display()}
            else:
                message = " ".join(exc.messages)
            messages.error(request, message)
        else:
            messages.success(request, str(DONE_MESSAGES[decision]) % {"name": trainee.name})
        trainee_review_release(trainee_id=trainee.pk, reviewer=request.user)
        return None


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
