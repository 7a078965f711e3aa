"""Identity checks (issue #23) in admin: every check (read-only), and the staff review queue of the
cases sent after repeated failures (the two snapshots beside the registered photo) and the exam photos
of the trainees checked by SMS code (the photo beside the registered photo): approve or reject
with a reason (``learning.services.identity.identity_check_review``, audited)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from portal.files import private_file_response
from portal.http import client_ip

from ..models import IdentityCheck, IdentityDecision, IdentityMethod, PhotoReview
from ..selectors.identity import identity_review_waiting_q
from ..services.identity import failure_message, identity_check_review

REVIEW_PERMISSION = "learning.review_identitycheck"


class AwaitingReviewFilter(admin.SimpleListFilter):
    title = _("staff review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("waiting", _("Awaiting review")), ("done", _("Reviewed"))]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(identity_review_waiting_q())
        if self.value() == "done":
            return queryset.filter(reviewed_at__isnull=False)
        return queryset


@admin.register(IdentityCheck)
class IdentityCheckAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "trainee",
        "context",
        "method",
        "decision",
        "distance",
        "liveness_passed",
        "photo_review",
        "requested_at",
        "review_requested_at",
    )
    list_filter = (AwaitingReviewFilter, "decision", "photo_review", "context", "method")
    search_fields = ("enrollment__trainee__name", "enrollment__user__mobile")
    list_select_related = ("enrollment__trainee",)
    date_hierarchy = "requested_at"
    change_form_template = "learning/admin/identitycheck_change_form.html"
    exclude = ("snapshot", "snapshot_second")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if field.name not in self.exclude]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("trainee"), ordering="enrollment__trainee__name")
    def trainee(self, obj):
        return obj.enrollment.trainee.name

    def get_urls(self):
        return [
            path(
                "<int:pk>/image/<str:which>/",
                self.admin_site.admin_view(self.image_view),
                name="learning_identitycheck_image",
            ),
            path(
                "<int:pk>/review/",
                self.admin_site.admin_view(self.review_view),
                name="learning_identitycheck_review",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        check = self.get_object(request, object_id)
        extra = {}
        if check is not None:
            extra = {
                "identity_check": check,
                "images": [
                    (label, reverse("admin:learning_identitycheck_image", args=[check.pk, which]))
                    for which, label, present in (
                        ("photo", gettext("Registered photo"), bool(check.enrollment.trainee.photo)),
                        (
                            "first",
                            gettext("Exam photo")
                            if check.method == IdentityMethod.SMS_CODE
                            else gettext("Snapshot"),
                            bool(check.snapshot),
                        ),
                        ("second", gettext("Second frame"), bool(check.snapshot_second)),
                    )
                    if present
                ],
                "failure_text": failure_message(check.failure) if check.failure else "",
                "can_review": request.user.has_perm(REVIEW_PERMISSION)
                and (
                    (check.decision == IdentityDecision.FAILED and check.review_requested_at is not None)
                    or check.photo_review == PhotoReview.WAITING
                ),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @staticmethod
    def _require_view(request):
        if not request.user.has_perm("learning.view_identitycheck"):
            raise PermissionDenied

    def image_view(self, request, pk: int, which: str):
        """A snapshot or the registered photo, for staff who may see identity checks (private files)."""
        self._require_view(request)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        check = get_object_or_404(IdentityCheck.objects.select_related("enrollment__trainee"), pk=pk)
        field = {
            "photo": check.enrollment.trainee.photo,
            "first": check.snapshot,
            "second": check.snapshot_second,
        }.get(which)
        if not field:
            raise Http404
        return private_file_response(request, field, content_type="image/jpeg")

    def review_view(self, request, pk: int):
        """POST ``decision`` (approve / reject) and ``reason``: the staff decision on a review case."""
        if not request.user.has_perm(REVIEW_PERMISSION):
            raise PermissionDenied
        check = get_object_or_404(IdentityCheck, pk=pk)
        change_url = reverse("admin:learning_identitycheck_change", args=[check.pk])
        if request.method != "POST":
            return redirect(change_url)
        try:
            identity_check_review(
                check=check,
                reviewer=request.user,
                approve=request.POST.get("decision") == "approve",
                reason=request.POST.get("reason", ""),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(change_url)
        messages.success(request, gettext("The identity check was reviewed."))
        return redirect(reverse("admin:learning_identitycheck_changelist") + "?review=waiting")
