"""Trainees (attachment 2): the review page, the review actions and the export."""

from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_actions import bulk_run, reason_step
from portal.admin_audit import AuditedModelAdmin
from portal.admin_export import ExportColumn
from portal.admin_lists import StaffListMixin, status_badge
from portal.crypto import personal_hash
from portal.forms import ReasonForm
from portal.http import client_ip

from ..exports import trainee_export_columns
from ..models import (
    Consent,
    Trainee,
    TraineeStatus,
)
from ..selectors import return_reasons_active
from ..services.attachment2 import ATTACHMENT2_FILES
from ..services.personal_data import trainee_full_id_view_record
from ..services.review import trainee_approve, trainee_reject, trainee_return
from ..validators import id_number_mask, id_number_validate
from .common import (
    REASON_HELP,
    STATUS_TONES,
    Attachment2Filter,
    DuplicateFilter,
    PaidFilter,
    can_see_full_id,
    duplicate_marker,
    industry_label,
    outside_area_marker,
)
from .review_queue import ReviewQueueMixin


class ConsentInline(admin.TabularInline):
    """The consents given for the trainee, as recorded (read-only evidence)."""

    model = Consent
    extra = 0
    can_delete = False
    fields = ("kind", "given_by", "given_at", "ip", "text_version", "language", "text")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Trainee)
class TraineeAdmin(ReviewQueueMixin, AuditedModelAdmin, StaffListMixin):
    change_form_template = "registration/admin/trainee_change_form.html"
    change_list_template = "registration/admin/trainee_change_list.html"
    # Status first, as a badge; the columns fit a 1366 px screen (ID number and mobile in one column,
    # certificate type and category in one, the submission day without the time).
    list_display = (
        "status_display",
        "name",
        "identity",
        "unit_name",
        "certificate_display",
        "attachment2_done",
        "paid",
        "submitted_on",
    )
    list_display_links = ("name",)
    # The list opens on what needs action (portal.admin_lists); “Show all” is one click away.
    default_filters = {"status__exact": TraineeStatus.SUBMITTED.value}
    list_filter = (
        "programme",
        "status",
        Attachment2Filter,
        DuplicateFilter,
        ("application__outside_area", admin.BooleanFieldListFilter),
        "certificate_type",
        "training_category",
        PaidFilter,
    )
    # ID numbers are encrypted: get_search_results matches a whole ID number through its hash
    # (exactly, so search cannot reveal digits).
    search_fields = ("name", "mobile", "application__unit_name", "application__reference")
    list_select_related = ("application", "programme", "duplicate_of__application")
    list_per_page = 50
    actions = ("approve_selected", "return_selected", "reject_selected")
    fieldsets = (
        (
            _("Review"),
            {
                "fields": (
                    "status",
                    "duplicate",
                    "status_reason",
                    "status_changed_at",
                    "reviewed_by",
                    "paid_at",
                    "purged_at",
                )
            },
        ),
    )
    readonly_fields = (
        "status",
        "duplicate",
        "status_reason",
        "status_changed_at",
        "reviewed_by",
        "paid_at",
        "purged_at",
    )
    inlines = [ConsentInline]

    class Media:
        css = {"all": ("registration/admin.css",)}

    # -- permissions: trainees come from sign-up; staff only review them ----------------------

    def has_add_permission(self, request) -> bool:
        return False

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("registration.change_trainee")

    @staticmethod
    def _id_number_terms(search_term: str) -> tuple[list[str], list[str]]:
        """The search terms that are whole, valid ID numbers (lower-case x or an old 15-digit
        number too), normalised, and the other terms."""
        numbers, others = [], []
        for term in (search_term or "").split():
            try:
                numbers.append(id_number_validate(term))
            except ValidationError:
                others.append(term)
        return numbers, others

    def get_search_results(self, request, queryset, search_term):
        # An ID number matches on its keyed hash, for staff who may see full ID numbers only: for
        # the others it is left out of the search (a match would confirm a number rebuilt from the
        # masked one), and changelist_view says so. The other terms search the other fields.
        numbers, others = self._id_number_terms(search_term)
        queryset, may_have_duplicates = super().get_search_results(request, queryset, " ".join(others))
        if can_see_full_id(request.user):
            for number in numbers:
                queryset = queryset.filter(id_number_hash=personal_hash(number))
        return queryset, may_have_duplicates

    # -- list columns -----------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: Trainee) -> str:
        badge = status_badge(obj.get_status_display(), STATUS_TONES.get(obj.status, "neutral"))
        marker = duplicate_marker(obj)
        return format_html("{}<br>{}", badge, marker) if marker else badge

    @admin.display(description=_("certificate"), ordering="certificate_type")
    def certificate_display(self, obj: Trainee) -> str:
        return f"{obj.get_certificate_type_display()} · {obj.get_training_category_display()}"

    @admin.display(description=_("submitted at"), ordering="created_at")
    def submitted_on(self, obj: Trainee) -> str:
        """Month and day (the programme gives the year); the full time on hover."""
        local = timezone.localtime(obj.created_at)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            local.isoformat(),
            f"{local:%Y-%m-%d %H:%M}",
            f"{local:%m-%d}",
        )

    @admin.display(description=_("ID number"))
    def masked_id_number(self, obj: Trainee) -> str:
        return obj.id_number_masked or id_number_mask(obj.id_number)

    @admin.display(description=format_lazy("{} / {}", _("ID number"), _("mobile number")))
    def identity(self, obj: Trainee) -> str:
        return format_html(
            '<span class="nowrap">{}</span><br><span class="nowrap">{}</span>',
            self.masked_id_number(obj),
            obj.mobile,
        )

    @admin.display(description=_("unit name"), ordering="application__unit_name")
    def unit_name(self, obj: Trainee) -> str:
        return obj.application.unit_name

    @admin.display(description=_("attachment 2"), boolean=True)
    def attachment2_done(self, obj: Trainee) -> bool:
        return obj.attachment2_complete

    @admin.display(description=_("duplicate registration"))
    def duplicate(self, obj: Trainee) -> str:
        return duplicate_marker(obj)

    @admin.display(description=_("paid"), boolean=True, ordering="paid_at")
    def paid(self, obj: Trainee) -> bool:
        return obj.paid_at is not None

    # -- detail page --------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        trainee = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if trainee is not None and self.has_view_or_change_permission(request, trainee):
            full = can_see_full_id(request.user)
            shown = trainee.id_number if full else id_number_mask(trainee.id_number)
            roster = list(trainee.application.trainees.select_related("programme").order_by("row_number"))
            for row in roster:
                row.id_number_shown = row.id_number if full else id_number_mask(row.id_number)
            if full and request.method == "GET":
                # The page shows the full numbers of the whole roster: record whose.
                trainee_full_id_view_record(
                    trainee=trainee,
                    viewer=request.user,
                    what="admin_trainee_page",
                    trainee_ids=[row.pk for row in roster if row.id_number],
                    ip=client_ip(request),
                )
            extra.update(
                {
                    "trainee": trainee,
                    "application": trainee.application,
                    "roster": roster,
                    "industry_label": industry_label(trainee.application.industry),
                    "id_number_shown": shown,
                    "full_id": full,
                    # ID card copies show the full number: linked only for the full-ID permission.
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
                    "print_url": reverse("registration:staff_attachment2_print", args=[trainee.pk]),
                    "can_review": self.has_review_permission(request),
                    "review_actions": self._review_actions(trainee),
                    "duplicate_marker": duplicate_marker(trainee),
                    "area_marker": outside_area_marker(trainee.application),
                    "show_save": False,
                    "show_save_and_continue": False,
                    "show_save_and_add_another": False,
                    "show_delete": False,
                }
            )
        return super().change_view(request, object_id, form_url, extra)

    def _review_actions(self, trainee: Trainee) -> list[tuple[str, str]]:
        possible = []
        if trainee.status == TraineeStatus.SUBMITTED and not trainee.is_duplicate:
            possible += [("approve", _("Approve")), ("return", _("Return for correction"))]
        if trainee.status in (TraineeStatus.SUBMITTED, TraineeStatus.RETURNED):
            possible.append(("reject", _("Reject")))
        return possible

    def get_urls(self):
        opts = self.opts
        return [
            path(
                "<int:pk>/review/<str:decision>/",
                self.admin_site.admin_view(self.review_view),
                name=f"{opts.app_label}_{opts.model_name}_review",
            ),
            *super().get_urls(),
        ]

    # -- review: one trainee from its page, or the selected rows from the list ----------------

    DECISIONS = {
        "approve": (_("Approve"), False),
        "return": (_("Return for correction"), True),
        "reject": (_("Reject"), True),
    }
    DONE_MESSAGES = {
        "approve": _("Approved (%(count)s): %(names)s"),
        "return": _("Returned for correction (%(count)s): %(names)s"),
        "reject": _("Rejected (%(count)s): %(names)s"),
    }

    def _decide(self, request, queryset, decision: str, reason: str = "") -> None:
        """Call the decision's service for each row (``portal.admin_actions.bulk_run``)."""
        ip = client_ip(request)
        calls = {
            "approve": lambda trainee: trainee_approve(trainee=trainee, reviewer=request.user, ip=ip),
            "return": lambda trainee: trainee_return(
                trainee=trainee, reviewer=request.user, reason=reason, ip=ip
            ),
            "reject": lambda trainee: trainee_reject(
                trainee=trainee, reviewer=request.user, reason=reason, ip=ip
            ),
        }
        bulk_run(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("pk"),
            call=calls[decision],
            done_message=str(self.DONE_MESSAGES[decision]),
            label=lambda trainee: trainee.name,
        )

    def _bulk_with_reason(self, request, queryset, decision: str):
        title, _needs_reason = self.DECISIONS[decision]
        return reason_step(
            modeladmin=self,
            request=request,
            queryset=queryset.select_related("application"),
            action=f"{decision}_selected",
            title=title,
            apply=lambda reason: self._decide(request, queryset, decision, reason),
            columns=[
                (_("name"), lambda trainee: trainee.name),
                (_("unit name"), lambda trainee: trainee.application.unit_name),
                (_("status"), lambda trainee: trainee.get_status_display()),
            ],
            help_text=REASON_HELP,
            presets=return_reasons_active(),
        )

    @admin.action(description=_("Approve the selected registrations"), permissions=["review"])
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, "approve")

    @admin.action(description=_("Return the selected registrations for correction…"), permissions=["review"])
    def return_selected(self, request, queryset):
        return self._bulk_with_reason(request, queryset, "return")

    @admin.action(description=_("Reject the selected registrations…"), permissions=["review"])
    def reject_selected(self, request, queryset):
        return self._bulk_with_reason(request, queryset, "reject")

    def review_view(self, request, pk: int, decision: str):
        """One trainee from its page: approve on POST, return / reject with a reason form."""
        if decision not in self.DECISIONS or not self.has_review_permission(request):
            raise PermissionDenied
        trainee = get_object_or_404(Trainee, pk=pk)
        queryset = Trainee.objects.filter(pk=trainee.pk)
        change_url = reverse("admin:registration_trainee_change", args=[trainee.pk])
        title, needs_reason = self.DECISIONS[decision]
        form = ReasonForm(
            request.POST if request.method == "POST" else None,
            help_text=REASON_HELP,
            presets=return_reasons_active() if needs_reason else (),
        )
        if request.method == "POST" and (not needs_reason or form.is_valid()):
            self._decide(request, queryset, decision, form.cleaned_data["reason"] if needs_reason else "")
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "trainee": trainee,
            "needs_reason": needs_reason,
            "change_url": change_url,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "registration/admin/review_reason.html", context)

    # -- Excel export of the filtered list (portal.admin_export) --------------------------------

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("application", "programme")

    def get_export_columns(self, request) -> list[ExportColumn]:
        full = can_see_full_id(request.user)
        return [
            ExportColumn(str(header), value, width)
            for header, value, width in trainee_export_columns(full_id=full)
        ]

    def export_audit_new(self, request, *, objects, columns) -> dict:
        new = super().export_audit_new(request, objects=objects, columns=columns)
        new["full_id_numbers"] = full = can_see_full_id(request.user)
        if full:
            new["trainee_ids"] = [trainee.pk for trainee in objects]  # whose full ID numbers left in the file
        return new

    def changelist_view(self, request, extra_context=None):
        numbers, _others = self._id_number_terms(request.GET.get(SEARCH_VAR, ""))
        if numbers and not can_see_full_id(request.user):
            messages.warning(
                request,
                gettext(
                    "Searching by ID number needs the permission to see full ID numbers: the ID "
                    "number was left out of the search."
                ),
            )
        extra = dict(extra_context or {})
        extra["export_url"] = reverse("admin:registration_trainee_export")
        if self.has_review_permission(request):
            extra["review_queue_url"] = reverse("admin:registration_trainee_review_queue")
        return super().changelist_view(request, extra)
