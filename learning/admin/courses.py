"""Staff side of course content: courses, lessons (with their videos), course plans and their
hours, the programmes' study rules, and the training record (study records)."""

from django.contrib import admin, messages
from django.db.models import Count, Q, Sum
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from portal.http import client_ip

from .. import video
from ..export import export_response
from ..forms import LessonAdminForm
from ..models import (
    Course,
    CoursePlan,
    Enrollment,
    Lesson,
    LessonKind,
    ProgrammeStudyRule,
    RecordSource,
    StudyRecord,
    VideoStatus,
)
from ..sanitize import lesson_html
from ..selectors.study import (
    hours_display,
    plan_shortfalls,
    plans_hours,
)


class LessonInline(admin.TabularInline):
    model = Lesson
    form = LessonAdminForm
    fields = ("order", "code", "title", "kind", "class_hours", "is_active")
    extra = 0
    show_change_link = True


@admin.register(Course)
class CourseAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("title", "code", "order", "lesson_count", "hours", "is_active")
    list_editable = ("order",)
    search_fields = ("title", "code")
    list_filter = ("is_active",)
    inlines = [LessonInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                lesson_total=Count("lessons", filter=Q(lessons__is_active=True)),
                hours_total=Sum("lessons__class_hours", filter=Q(lessons__is_active=True)),
            )
        )

    @admin.display(description=_("lessons"), ordering="lesson_total")
    def lesson_count(self, obj) -> int:
        return obj.lesson_total

    @admin.display(description=_("class hours"), ordering="hours_total")
    def hours(self, obj):
        return obj.hours_total or 0


@admin.register(Lesson)
class LessonAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = LessonAdminForm
    list_display = ("title", "course", "order", "kind", "class_hours", "video_state", "is_active")
    list_filter = ("kind", "video_status", "is_active", "course")
    search_fields = ("title", "code", "course__title")
    list_select_related = ("course",)
    fieldsets = [
        (None, {"fields": ("course", "code", "order", "title", "kind", "class_hours", "is_active")}),
        (_("Video"), {"fields": ("video", "video_report", "video_duration_seconds")}),
        (_("Document"), {"fields": ("document",)}),
        (_("Text"), {"fields": ("body_html", "preview")}),
    ]
    readonly_fields = ("preview", "video_report", "video_duration_seconds")
    actions = ["video_process_again"]

    @admin.display(description=_("preview (as trainees see it)"))
    def preview(self, obj) -> str:
        return lesson_html(obj.body_html) if obj and obj.body_html else "—"

    @admin.display(description=_("video processing"), ordering="video_status")
    def video_state(self, obj) -> str:
        if obj is None or obj.kind != LessonKind.VIDEO or not obj.video:
            return "—"
        if not obj.video_status:
            return gettext("Not processed (played as uploaded)")
        if obj.video_status == VideoStatus.FAILED:
            return format_html(
                "{}: {}", obj.get_video_status_display(), video.video_error_message(obj.video_error)
            )
        return obj.get_video_status_display()

    @admin.display(description=_("video processing"))
    def video_report(self, obj) -> str:
        """The state, a failure's reason and what ffmpeg said, when it was processed."""
        state = self.video_state(obj)
        if obj is None or state == "—":
            return state
        lines = [state]
        if obj.video_processed_at:
            when = formats.date_format(timezone.localtime(obj.video_processed_at), "SHORT_DATETIME_FORMAT")
            lines.append(gettext("Processed at %(when)s") % {"when": when})
        if obj.video_error_detail:
            lines.append(format_html("<code>{}</code>", obj.video_error_detail[-500:]))
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def save_model(self, request, obj, form, change):
        """A new video upload is converted for phones by a task (learning/video.py)."""
        with self._audit_atomic():
            super().save_model(request, obj, form, change)
            if "video" in form.changed_data and obj.video and obj.kind == LessonKind.VIDEO:
                video.lesson_video_submit(lesson=obj, actor=request.user, ip=client_ip(request))
                self.message_user(
                    request,
                    gettext(
                        "The video is being converted for phones; trainees see “processing” until it is ready."
                    ),
                    messages.INFO,
                )

    @admin.action(description=_("Process the videos again"), permissions=["change"])
    def video_process_again(self, request, queryset):
        lessons = list(queryset.filter(kind=LessonKind.VIDEO).exclude(video=""))
        for lesson in lessons:
            video.lesson_video_submit(lesson=lesson, actor=request.user, ip=client_ip(request))
        self.message_user(
            request,
            gettext("Videos to be processed again: %(count)s.") % {"count": len(lessons)},
            messages.SUCCESS if lessons else messages.WARNING,
        )


def _warn_shortfalls(request) -> None:
    for row in plan_shortfalls():
        if row["plan"] is None:
            messages.warning(
                request, gettext("There is no course plan for %(plan)s.") % {"plan": row["label"]}
            )
        else:
            messages.warning(
                request,
                gettext(
                    "The course plan %(plan)s has %(hours)s class hours, fewer than the %(required)s that "
                    "%(programme)s requires."
                )
                % {
                    "plan": row["plan"],
                    "hours": row["plan_hours"],
                    "required": row["required_hours"],
                    "programme": row["programme"],
                },
            )


@admin.register(CoursePlan)
class CoursePlanAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("__str__", "course_list", "plan_hours")
    filter_horizontal = ("courses",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("courses")

    @admin.display(description=_("courses"))
    def course_list(self, obj) -> str:
        return "; ".join(course.title for course in obj.courses.all())

    @admin.display(description=_("class hours"))
    def plan_hours(self, obj):
        hours = getattr(self, "_hours", None)
        if hours is None:
            hours = self._hours = plans_hours()
        return hours_display(hours.get((obj.certificate_type, obj.training_category), 0))

    def changelist_view(self, request, extra_context=None):
        self._hours = None
        if request.method == "GET":
            _warn_shortfalls(request)
        return super().changelist_view(request, extra_context)

    def response_change(self, request, obj):
        _warn_shortfalls(request)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        _warn_shortfalls(request)
        return super().response_add(request, obj, post_url_continue)


@admin.register(ProgrammeStudyRule)
class ProgrammeStudyRuleAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("programme", "daily_cap_hours", "offline_hours_required")


class RecordSourceFilter(admin.SimpleListFilter):
    title = _("recorded by")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return RecordSource.choices

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


@admin.register(StudyRecord)
class StudyRecordAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """The training record (培训档案): every span of study, presence check outcome and staff entry."""

    list_display = ("trainee", "lesson", "source", "status", "minutes", "started_at", "ended_at", "actor")
    list_filter = (RecordSourceFilter, "status", "day")
    search_fields = ("enrollment__trainee__name", "enrollment__user__mobile", "lesson__title")
    list_select_related = ("enrollment__trainee", "lesson", "actor")
    date_hierarchy = "started_at"
    actions = ["export_xlsx", "export_csv"]

    @admin.display(description=_("trainee"), ordering="enrollment__trainee__name")
    def trainee(self, obj) -> str:
        return obj.enrollment.trainee.name

    @admin.display(description=_("minutes"), ordering="credited_ms")
    def minutes(self, obj):
        return obj.minutes

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _enrollments(self, queryset):
        ids = set(queryset.values_list("enrollment_id", flat=True))
        return Enrollment.objects.filter(pk__in=ids).select_related("trainee", "user", "programme")

    @admin.action(description=_("Export the training record of these trainees (Excel)"))
    def export_xlsx(self, request, queryset):
        return export_response(self._enrollments(queryset), fmt="xlsx")

    @admin.action(description=_("Export the training record of these trainees (CSV)"))
    def export_csv(self, request, queryset):
        return export_response(self._enrollments(queryset), fmt="csv")
