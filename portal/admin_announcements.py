"""Announcements in admin: reviewers and course administrators write them (title, HTML text with a
preview as visitors see it, optional programme, display window, pinned)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .admin_audit import AuditedModelAdmin
from .models import Announcement
from .sanitize import rich_html
from .selectors import announcement_is_shown, announcements_shown_q


class ShownFilter(admin.SimpleListFilter):
    title = _("shown now")
    parameter_name = "shown"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("scheduled", _("Not yet published")), ("expired", _("Expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(announcements_shown_q(now=now))
        if self.value() == "scheduled":
            return queryset.filter(publish_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        return queryset


@admin.register(Announcement)
class AnnouncementAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("title", "pinned", "publish_at", "expires_at", "shown", "programme", "created_by")
    list_filter = (ShownFilter, "pinned", "programme")
    list_select_related = ("programme", "created_by")
    search_fields = ("title",)
    date_hierarchy = "publish_at"
    fields = ("title", "body_html", "preview", "programme", "publish_at", "expires_at", "pinned")
    readonly_fields = ("preview",)

    @admin.display(description=_("preview (as visitors see it)"))
    def preview(self, obj) -> str:
        return rich_html(obj.body_html) if obj and obj.body_html else "—"

    @admin.display(description=_("shown now"), boolean=True)
    def shown(self, obj) -> bool:
        return announcement_is_shown(obj, now=timezone.now())

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
