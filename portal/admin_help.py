"""Admin of the trainees' help: the association's contacts (footer, guide, FAQ) and the FAQ entries.

Kept by reviewers and course administrators (``portal.roles.HELP_PERMISSIONS``); every edit is
audited. Imported by ``portal/admin.py``.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .admin_audit import AuditedModelAdmin
from .models import Contact, FaqEntry
from .sanitize import rich_html


@admin.register(Contact)
class ContactAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "role", "phone", "email", "hours", "order", "active")
    list_editable = ("order", "active")
    list_filter = ("role", "active")
    search_fields = ("name", "phone", "email")


@admin.register(FaqEntry)
class FaqEntryAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("question", "topic", "order", "published")
    list_editable = ("order", "published")
    list_filter = ("published", "topic")
    search_fields = ("question", "answer_html", "topic")
    fields = ("topic", "question", "answer_html", "answer_preview", "order", "published")
    readonly_fields = ("answer_preview",)

    @admin.display(description=_("answer as shown"))
    def answer_preview(self, obj: FaqEntry):
        return rich_html(obj.answer_html) if obj.pk else "—"
