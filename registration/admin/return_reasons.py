"""The preset return / reject reasons reviewers pick from (``registration.ReturnReason``)."""

from django.contrib import admin

from portal.admin_audit import AuditedModelAdmin

from ..models import ReturnReason


@admin.register(ReturnReason)
class ReturnReasonAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("text", "order", "active")
    list_editable = ("order", "active")
    list_filter = ("active",)
    search_fields = ("text",)
    ordering = ("order", "pk")
