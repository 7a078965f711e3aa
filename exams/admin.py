"""Admin of the exams app: the question bank (with Excel import), exam templates, attempts and the
staff statistics."""

import threading

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin_audit import AuditedModelAdmin
from portal.forms import form_errors_apply

from . import selectors
from .forms import QuestionAdminForm, QuestionImportForm
from .models import Attempt, AttemptStatus, ExamStatistics, ExamTemplate, ExamTemplateRule, Question
from .question_import import questions_import, template_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(Question)
class QuestionAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = QuestionAdminForm
    change_list_template = "exams/admin/question_change_list.html"
    list_display = [
        "code",
        "short_stem",
        "qtype",
        "topic_display",
        "for_principal",
        "for_safety_manager",
        "is_active",
        "asked",
        "missed",
    ]
    list_filter = ["qtype", "topic", "for_principal", "for_safety_manager", "is_active"]
    search_fields = ["code", "stem"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["code", "qtype", "topic", "stem"]}),
        (gettext_lazy("Certificate types"), {"fields": ["for_principal", "for_safety_manager"]}),
        (gettext_lazy("Answer"), {"fields": ["options_text", "answer_letters", "explanation", "is_active"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                times_asked=Count(
                    "paper_items", filter=Q(paper_items__attempt__status=AttemptStatus.SUBMITTED)
                ),
                times_missed=Count("paper_items", filter=Q(paper_items__is_correct=False)),
            )
        )

    @admin.display(description=gettext_lazy("question"))
    def short_stem(self, obj):
        return obj.stem if len(obj.stem) <= 40 else obj.stem[:40] + "…"

    @admin.display(description=gettext_lazy("topic"), ordering="topic")
    def topic_display(self, obj):
        return obj.topic_label

    @admin.display(description=gettext_lazy("times asked"), ordering="times_asked")
    def asked(self, obj):
        return obj.times_asked

    @admin.display(description=gettext_lazy("times missed"), ordering="times_missed")
    def missed(self, obj):
        return obj.times_missed

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="exams_question_import"),
            path(
                "import/template/",
                self.admin_site.admin_view(self.import_template_view),
                name="exams_question_import_template",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        if self.has_add_permission(request):
            extra_context["import_url"] = reverse("admin:exams_question_import")
        return super().changelist_view(request, extra_context)

    def import_template_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        response = HttpResponse(template_workbook(), content_type=XLSX)
        response["Content-Disposition"] = 'attachment; filename="question-import-template.xlsx"'
        return response

    def import_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = QuestionImportForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                result = questions_import(file=form.cleaned_data["file"], actor=request.user)
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                if result.errors:
                    errors = result.errors
                else:
                    messages.success(
                        request,
                        _("Import done: %(created)s questions added, %(updated)s updated.")
                        % {"created": result.created, "updated": result.updated},
                    )
                    return redirect("admin:exams_question_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import questions from Excel"),
            "form": form,
            "errors": errors,
            "template_url": reverse("admin:exams_question_import_template"),
        }
        return TemplateResponse(request, "exams/admin/question_import.html", context)


class RuleInline(admin.TabularInline):
    model = ExamTemplateRule
    extra = 1
    min_num = 1


@admin.register(ExamTemplate)
class ExamTemplateAdmin(AuditedModelAdmin, admin.ModelAdmin):
    inlines = [RuleInline]
    list_display = [
        "name",
        "certificate_type",
        "training_category",
        "programme",
        "question_total",
        "points_total",
        "time_limit_minutes",
        "pass_mark",
        "resits",
        "bank_status",
        "is_active",
    ]
    list_filter = ["certificate_type", "training_category", "is_active"]
    list_select_related = ["programme"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("rules")

    # One bank query per certificate type for the whole list, kept per request thread (the admin
    # instance is shared between threads).
    _local = threading.local()

    def changelist_view(self, request, extra_context=None):
        self._local.pools = {}  # fresh for each request (the response renders after this returns)
        return super().changelist_view(request, extra_context)

    def _pool(self, certificate_type):
        pools = getattr(self._local, "pools", None)
        if pools is None:
            pools = self._local.pools = {}
        if certificate_type not in pools:
            pools[certificate_type] = selectors.bank_pool(certificate_type)
        return pools[certificate_type]

    @admin.display(description=gettext_lazy("questions"))
    def question_total(self, obj):
        return sum(rule.count for rule in obj.rules.all())

    @admin.display(description=gettext_lazy("total points"))
    def points_total(self, obj):
        return selectors.template_total_points(obj.rules.all())

    @admin.display(description=gettext_lazy("question bank"))
    def bank_status(self, obj):
        problems = selectors.template_shortfalls(list(obj.rules.all()), self._pool(obj.certificate_type))
        return " ".join(problems) if problems else _("Enough questions")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None:
                self._warn(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self._warn(request, form.instance)

    def _warn(self, request, template):
        pool = selectors.bank_pool(template.certificate_type)
        for problem in selectors.template_shortfalls(list(template.rules.all()), pool):
            messages.warning(
                request, _("The question bank cannot fill this template: %(problem)s") % {"problem": problem}
            )


@admin.register(Attempt)
class AttemptAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = [
        "pk",
        "trainee_name",
        "trainee_mobile",
        "programme_name",
        "number",
        "status",
        "started_at",
        "submitted_at",
        "score",
        "pass_mark",
        "passed",
    ]
    list_filter = ["status", "passed", "submit_reason", "enrollment__programme"]
    search_fields = ["enrollment__trainee__name", "enrollment__trainee__mobile", "=enrollment__id"]
    list_select_related = ["enrollment__trainee", "enrollment__programme"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in Attempt._meta.fields]

    @admin.display(description=gettext_lazy("trainee"), ordering="enrollment__trainee__name")
    def trainee_name(self, obj):
        return obj.enrollment.trainee.name

    @admin.display(description=gettext_lazy("mobile number"))
    def trainee_mobile(self, obj):
        return obj.enrollment.trainee.mobile

    @admin.display(description=gettext_lazy("programme"))
    def programme_name(self, obj):
        return obj.enrollment.programme.name

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExamStatistics)
class ExamStatisticsAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """Pass rates per programme and the most missed questions (two aggregate queries)."""

    export_enabled = False  # a statistics page, not a list (portal.admin_export)

    def _allowed(self, request):
        return request.user.is_active and request.user.has_perm("exams.view_exam_statistics")

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Exam statistics"),
            "programmes": selectors.programme_pass_rates(),
            "questions": selectors.question_miss_stats(limit=50),
            "attempts_url": reverse("admin:exams_attempt_changelist"),
        }
        return TemplateResponse(request, "exams/admin/statistics.html", context)
