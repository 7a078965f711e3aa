from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin  # imported first: Group is registered, then replaced
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .admin_actions import bulk_run
from .admin_audit import AuditedModelAdmin
from .forms import form_errors_apply
from .http import client_ip
from .messaging.kinds import KINDS
from .messaging.selectors import kind_label, undelivered_q
from .messaging.services import message_resend
from .models import Association, AuditEntry, CalendarYear, Holiday, MessageStatus, OutboundMessage, User
from .validators import mobile_validate
from .workday_calendar import calendar_warnings, calendar_year_import


class MobileFieldMixin(forms.Form):
    mobile = forms.CharField(label=_("Mobile number"), max_length=20)

    def clean_mobile(self) -> str:
        number = mobile_validate(self.cleaned_data["mobile"])
        duplicate = User.objects.filter(mobile=number).exclude(pk=getattr(self.instance, "pk", None))
        if duplicate.exists():
            raise forms.ValidationError(_("An account with this mobile number already exists."))
        return number


class UserCreationAdminForm(MobileFieldMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("mobile", "name")


class UserChangeAdminForm(MobileFieldMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ("mobile",)
    list_display = ("mobile", "name", "email", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("mobile", "name", "email")
    fieldsets = (
        (None, {"fields": ("mobile", "password")}),
        (_("Personal info"), {"fields": ("name", "email")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("mobile", "name", "usable_password", "password1", "password2")},
        ),
    )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedModelAdmin, auth_admin.GroupAdmin):
    """The staff roles and their permissions: edits are audited like every other admin edit."""


@admin.register(Association)
class AssociationAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "certificate_issuer", "contact_name", "contact_phone")

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not Association.objects.exists()


class CalendarImportForm(forms.Form):
    file = forms.FileField(
        label=_("Calendar file (one day a line: 2027-01-01,holiday or 2027-02-07,workday)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt"}),
    )


@admin.register(Holiday)
class HolidayAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """The working-day calendar's overrides (``portal.workdays``), kept by finance; a year's official
    arrangement is imported from a file (``portal.workday_calendar``)."""

    list_display = ("date", "name", "is_workday")
    list_filter = ("is_workday",)
    date_hierarchy = "date"
    search_fields = ("name",)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="portal_holiday_import"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        for warning in calendar_warnings():
            self.message_user(request, warning, messages.WARNING)
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        if not (
            request.user.has_perm("portal.add_holiday") and request.user.has_perm("portal.delete_holiday")
        ):
            raise PermissionDenied
        form = CalendarImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = calendar_year_import(
                    content=form.cleaned_data["file"].read(), actor=request.user, ip=client_ip(request)
                )
            except ValidationError as exc:
                form_errors_apply(form, ValidationError({"file": exc.messages}))
            else:
                self.message_user(
                    request,
                    gettext(
                        "Calendar %(year)s imported: %(holidays)s holidays, %(workdays)s adjusted working "
                        "days; the year is now official and pending deadlines are being recomputed."
                    )
                    % {"year": result.year, "holidays": result.holidays, "workdays": result.workdays},
                )
                return redirect("admin:portal_holiday_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import a year's calendar"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/portal/holiday_import.html", context)


@admin.register(CalendarYear)
class CalendarYearAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """The years with official calendar data; set by the import (read-only here)."""

    list_display = ("year", "official", "imported_at", "imported_by")
    readonly_fields = ("year", "official", "imported_at", "imported_by")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """Readable by staff with the view permission; nobody can add, change or delete entries."""

    list_display = ("created_at", "actor_repr", "action", "target_type", "target_repr", "ip_address")
    list_filter = ("action", "target_type")
    search_fields = ("actor_repr", "action", "target_repr", "target_id", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("target_type",)
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DeliveryFilter(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("undelivered", _("Undelivered (failed, or waiting too long)"))]

    def queryset(self, request, queryset):
        if self.value() == "undelivered":
            return queryset.filter(undelivered_q())
        return queryset


class KindFilter(admin.SimpleListFilter):
    title = _("message kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(name, kind.label) for name, kind in KINDS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


STATUS_COLOURS = {
    MessageStatus.QUEUED: "#666",
    MessageStatus.SENDING: "#205067",
    MessageStatus.SENT: "#3d7a3d",
    MessageStatus.DELIVERED: "#1e6b1e",
    MessageStatus.FAILED: "#ba2121",
}


@admin.register(OutboundMessage)
class OutboundMessageAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """Every SMS and e-mail sent: read-only; undelivered ones can be sent again. The variables and
    the text (codes, private links) are never shown; lists show the recipient masked."""

    list_display = (
        "created_at",
        "kind_display",
        "channel",
        "recipient_display",
        "status_badge",
        "attempts",
        "error_short",
        "about_link",
    )
    list_filter = (DeliveryFilter, "status", KindFilter, "channel")
    search_fields = ("=recipient", "about_repr", "=provider_message_id")
    date_hierarchy = "created_at"
    list_select_related = ("about_type",)
    fields = (
        "created_at",
        "kind_display",
        "channel",
        "recipient",
        "subject",
        "template_code",
        "status_badge",
        "attempts",
        "error",
        "backend",
        "provider_message_id",
        "next_attempt_at",
        "last_attempt_at",
        "sent_at",
        "delivered_at",
        "about_link",
    )
    readonly_fields = fields
    actions = ["resend_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("portal.resend_outboundmessage")

    @admin.display(description=_("message kind"), ordering="kind")
    def kind_display(self, obj: OutboundMessage) -> str:
        return kind_label(obj.kind)

    @admin.display(description=_("recipient"))
    def recipient_display(self, obj: OutboundMessage) -> str:
        return obj.recipient_masked

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: OutboundMessage):
        return format_html(
            '<strong class="message-status message-status-{}" style="color:{}">{}</strong>',
            obj.status,
            STATUS_COLOURS.get(obj.status, "#666"),
            obj.get_status_display(),
        )

    @admin.display(description=_("error"))
    def error_short(self, obj: OutboundMessage) -> str:
        return Truncator(obj.error).chars(60)

    @admin.display(description=_("about"))
    def about_link(self, obj: OutboundMessage):
        if obj.about_type is None or not obj.about_id:
            return obj.about_repr or "-"
        try:
            url = reverse(
                f"admin:{obj.about_type.app_label}_{obj.about_type.model}_change", args=[obj.about_id]
            )
        except NoReverseMatch:
            return obj.about_repr
        return format_html('<a href="{}">{}</a>', url, obj.about_repr)

    @admin.action(description=_("Send the selected messages again"), permissions=["resend"])
    def resend_selected(self, request, queryset):
        bulk_run(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("pk"),
            call=lambda message: message_resend(message=message, actor=request.user, ip=client_ip(request)),
            done_message=_("Queued again (%(count)s): %(names)s"),
            label=lambda message: f"#{message.pk} {message.recipient_masked}",
        )


from . import (  # noqa: E402
    admin_announcements,  # noqa: F401 -- announcements (portal/admin_announcements.py)
    admin_help,  # noqa: F401 -- the contacts and FAQ entries (portal/admin_help.py)
)
