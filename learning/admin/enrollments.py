"""Staff side of study accounts: enrollments (extension, staff hours, training-record export, the
progress of each lesson) and the pipeline dashboard (with ``DASHBOARD_SECTIONS``, which other apps
extend from their AppConfig.ready)."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_actions import bulk_run
from portal.admin_audit import AuditedModelAdmin
from portal.forms import form_errors_apply
from portal.http import client_ip
from registration.models import Programme

from ..conf import conf
from ..export import export_response
from ..forms import ExtendForm, StaffHoursForm
from ..models import (
    Enrollment,
    EnrollmentReminder,
    EnrollmentStatus,
    LessonProgress,
    PipelineDashboard,
)
from ..selectors.accounts import account_promise_days, trainee_account_blocker, trainees_account_overdue
from ..selectors.enrollments import enrollment_history
from ..selectors.pipeline import pipeline_counts
from ..selectors.study import (
    enrollment_exam_unlocked,
    enrollment_study_overview,
    hours_display,
)
from ..services.staff_hours import study_hours_record
from ..services.windows import enrollment_extend


class ReminderInline(admin.TabularInline):
    model = EnrollmentReminder
    fields = ("kind", "deadline", "sent_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DeadlineFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline_within"

    def lookups(self, request, model_admin):
        return [("7", _("Within 7 days")), ("past", _("Passed, not yet voided"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "7":
            return queryset.filter(
                status=EnrollmentStatus.ACTIVE,
                deadline__gt=now,
                deadline__lte=now + timezone.timedelta(days=7),
            )
        if self.value() == "past":
            return queryset.filter(status=EnrollmentStatus.ACTIVE, deadline__lte=now)
        return queryset


@admin.register(Enrollment)
class EnrollmentAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "trainee_name",
        "user",
        "programme",
        "status",
        "opened_at",
        "deadline",
        "extended_days",
        "welcome_sent_at",
        "study_progress",
    )
    list_filter = ("status", DeadlineFilter, "programme")
    search_fields = ("trainee__name", "user__mobile", "trainee__application__reference")
    list_select_related = ("trainee", "user", "programme")
    date_hierarchy = "opened_at"
    readonly_fields = [f.name for f in Enrollment._meta.fields if f.name != "expiry_run"] + [
        "progress_detail",
        "audit_history",
    ]
    exclude = ("expiry_run",)
    inlines = [ReminderInline]
    actions = ["extend_windows", "export_record_xlsx", "export_record_csv"]

    def get_inlines(self, request, obj):
        return [*self.inlines, LessonProgressInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(study_ms=Sum("lesson_progress__credited_ms"))

    @admin.display(description=_("class hours"), ordering="study_ms")
    def study_progress(self, obj: Enrollment) -> str:
        required = obj.programme.hours_for(obj.trainee.training_category)
        return f"{hours_display(getattr(obj, 'study_ms', None) or 0)} / {required}"

    @admin.display(description=_("audit history"))
    def audit_history(self, obj: Enrollment) -> str:
        """Every audit entry about this enrollment, the expiry runs that voided it included."""
        rows = (
            (
                formats.date_format(timezone.localtime(entry.created_at), "SHORT_DATETIME_FORMAT"),
                reverse("admin:portal_auditentry_change", args=[entry.pk]),
                entry.action,
                entry.actor_repr or "—",
                entry.reason,
            )
            for entry in enrollment_history(obj)
        )
        return format_html_join(mark_safe("<br>"), '{} <a href="{}">{}</a> · {} {}', rows) or "—"

    @admin.display(description=_("study progress"))
    def progress_detail(self, obj: Enrollment) -> str:
        overview = enrollment_study_overview(obj)
        lines = [
            gettext(
                "%(done)s of %(required)s class hours; every lesson complete: %(complete)s; "
                "exam unlocked: %(unlocked)s"
            )
            % {
                "done": overview.hours_done,
                "required": overview.required_hours,
                "complete": gettext("yes") if overview.all_lessons_done else gettext("no"),
                "unlocked": gettext("yes") if enrollment_exam_unlocked(obj) else gettext("no"),
            }
        ]
        lines += [
            f"{course.course.title}: {course.hours_done} / {course.hours_required}"
            for course in overview.courses
        ]
        links = [
            (
                reverse("admin:learning_enrollment_record_hours", args=[obj.pk]),
                gettext("Record class hours earned elsewhere"),
            ),
            (
                reverse("admin:learning_studyrecord_changelist") + f"?enrollment__id__exact={obj.pk}",
                gettext("Training record"),
            ),
        ]
        return format_html(
            "{}<br>{}",
            format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines)),
            format_html_join(" · ", '<a href="{}">{}</a>', links),
        )

    def _export(self, queryset, fmt):
        return export_response(queryset.select_related("trainee", "user", "programme"), fmt=fmt)

    @admin.action(description=_("Export the training record (Excel)"), permissions=["view"])
    def export_record_xlsx(self, request, queryset):
        return self._export(queryset, "xlsx")

    @admin.action(description=_("Export the training record (CSV)"), permissions=["view"])
    def export_record_csv(self, request, queryset):
        return self._export(queryset, "csv")

    def get_urls(self):
        extra = [
            path(
                "<int:pk>/record-hours/",
                self.admin_site.admin_view(self.record_hours_view),
                name="learning_enrollment_record_hours",
            )
        ]
        return extra + super().get_urls()

    def record_hours_view(self, request, pk: int):
        """Staff record class hours earned elsewhere (service ``study_hours_record``; audited)."""
        if not request.user.has_perm("learning.record_hours"):
            raise PermissionDenied
        enrollment = get_object_or_404(
            Enrollment.objects.select_related("trainee", "programme", "user"), pk=pk
        )
        overview = enrollment_study_overview(enrollment)
        lessons = [row.lesson for row in overview.lessons]
        form = StaffHoursForm(request.POST or None, lessons=lessons, initial={"enrollment": enrollment.pk})
        if request.method == "POST" and form.is_valid():
            try:
                record = study_hours_record(
                    enrollment=enrollment,
                    lesson=form.cleaned_data["lesson"],
                    minutes=form.cleaned_data["minutes"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                self.message_user(
                    request,
                    gettext("Recorded %(minutes)s minutes for %(lesson)s.")
                    % {"minutes": record.minutes, "lesson": record.lesson.title},
                    messages.SUCCESS,
                )
                return redirect("admin:learning_enrollment_change", enrollment.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Record class hours earned elsewhere"),
            "form": form,
            "enrollment": enrollment,
            "overview": overview,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/learning/enrollment/record_hours.html", context)

    @admin.display(description=_("trainee"), ordering="trainee__name")
    def trainee_name(self, obj: Enrollment) -> str:
        return obj.trainee.name

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_extend_permission(self, request) -> bool:
        return request.user.has_perm("learning.extend_enrollment")

    @admin.action(description=_("Extend the study window"), permissions=["extend"])
    def extend_windows(self, request, queryset):
        """Intermediate form (days, reason), then the same service row by row."""
        if "apply" in request.POST:
            form = ExtendForm(request.POST)
            if form.is_valid():
                days, reason, ip = form.cleaned_data["days"], form.cleaned_data["reason"], client_ip(request)
                bulk_run(
                    modeladmin=self,
                    request=request,
                    objects=queryset.select_related("trainee").order_by("pk"),
                    call=lambda enrollment: enrollment_extend(
                        enrollment=enrollment, days=days, reason=reason, actor=request.user, ip=ip
                    ),
                    done_message=gettext("Study windows extended (%(count)s): %(names)s"),
                    label=lambda enrollment: enrollment.trainee.name,
                )
                return None
        else:
            form = ExtendForm()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Extend the study window"),
            "form": form,
            "enrollments": queryset.select_related("trainee", "programme"),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/learning/enrollment/extend.html", context)


# The dashboard's sections below the pipeline (learning: people the notices did not reach;
# certificates: certificates to mail): a callable ``(request) -> {"title": ..., "template": ...,
# **context}`` appended here from the app's AppConfig.ready.
DASHBOARD_SECTIONS: list[Callable] = []


def _trainee_admin_url(trainee_id: int) -> str | None:
    try:
        return reverse("admin:registration_trainee_change", args=[trainee_id])
    except NoReverseMatch:
        return None


@admin.register(PipelineDashboard)
class PipelineDashboardAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """The staff dashboard: counts per pipeline stage and what is late. Every staff member sees it."""

    export_enabled = False  # a dashboard, not a list (portal.admin_export)

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        programmes = list(Programme.objects.order_by("-year", "-opens_on"))
        try:
            programme_id = int(request.GET.get("programme") or 0) or None
        except ValueError:
            programme_id = None
        promise = account_promise_days()
        at_risk_days = conf("LEARNING_ACCOUNT_AT_RISK_DAYS")

        def listing(days):
            queryset = trainees_account_overdue(days=days, now=now)
            if programme_id:
                queryset = queryset.filter(programme_id=programme_id)
            return [
                {
                    "trainee": trainee,
                    "waiting_days": (now - trainee.paid_at).days,
                    "blocker": trainee_account_blocker(trainee),
                    "url": _trainee_admin_url(trainee.pk),
                }
                for trainee in queryset[:200]
            ]

        late = listing(promise)
        late_ids = {row["trainee"].pk for row in late}
        at_risk = [row for row in listing(at_risk_days) if row["trainee"].pk not in late_ids]
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Pipeline dashboard"),
            "opts": self.model._meta,
            "programmes": programmes,
            "programme_id": programme_id,
            "counts": pipeline_counts(programme_id=programme_id),
            "late": late,
            "at_risk": at_risk,
            "promise_days": promise,
            "sections": [section(request) for section in DASHBOARD_SECTIONS],
        }
        return TemplateResponse(request, "admin/learning/dashboard.html", context)


class LessonProgressInline(admin.TabularInline):
    model = LessonProgress
    fields = ("lesson", "hours_done", "completed_at", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("progress per lesson")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lesson")

    @admin.display(description=_("class hours done"))
    def hours_done(self, obj):
        return f"{hours_display(obj.credited_ms)} / {obj.lesson.class_hours}"

    def has_add_permission(self, request, obj=None) -> bool:
        return False
