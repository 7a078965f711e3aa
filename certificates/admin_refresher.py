"""Staff side of the refresher invitations: who was invited to which programme, who registered, and
(on the certificates list) the holders overdue for the refresher who were not invited."""

import datetime

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from registration.models import Programme

from .models import RefresherInvitation, RefresherOptOut
from .refresher import issued_on_or_before_for_due, latest_certificates


class RegisteredFilter(admin.SimpleListFilter):
    title = _("registered")
    parameter_name = "registered"

    def lookups(self, request, model_admin):
        return [("yes", _("Registered")), ("no", _("Invited, not registered"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(registered_trainee__isnull=False)
        if self.value() == "no":
            return queryset.filter(registered_trainee__isnull=True)
        return queryset


@admin.register(RefresherInvitation)
class RefresherInvitationAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "holder",
        "certificate_number",
        "programme",
        "refresher_due_on",
        "sent_at",
        "channels",
        "contacts_notified",
        "registered",
    )
    list_filter = (RegisteredFilter, "programme", "refresher_due_on", "sent_at")
    search_fields = ("=certificate__number", "certificate__holder_name")
    list_select_related = ("certificate", "programme")
    list_per_page = 100
    readonly_fields = (
        "certificate",
        "programme",
        "refresher_due_on",
        "sent_at",
        "channels",
        "message_event",
        "contacts_notified",
        "registered_trainee",
        "registered_at",
    )
    exclude = ("holder_hash", "run")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("holder"), ordering="certificate__holder_name")
    def holder(self, obj):
        return obj.certificate.holder_name

    @admin.display(description=_("certificate number"), ordering="certificate__number")
    def certificate_number(self, obj):
        return obj.certificate.number

    @admin.display(boolean=True, description=_("registered"))
    def registered(self, obj):
        return obj.registered_trainee_id is not None


@admin.register(RefresherOptOut)
class RefresherOptOutAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("created_at", "invitation")
    readonly_fields = ("invitation", "created_at", "ip")
    exclude = ("holder_hash",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class RefresherStateFilter(admin.SimpleListFilter):
    """On the certificates list: each holder's latest certificate overdue (or due by the open
    programme's closing day) for the refresher, and whether its holder was invited."""

    title = _("refresher")
    parameter_name = "refresher"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue for the refresher")),
            ("overdue_not_invited", _("Overdue, not invited to the open programme")),
            ("due_open", _("Due by the open programme's closing day")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        today = timezone.localdate()
        latest = latest_certificates().values("pk")
        if value == "overdue":
            return queryset.filter(
                pk__in=latest, issue_date__lte=issued_on_or_before_for_due(today - _one_day())
            )
        programme = (
            Programme.objects.filter(opens_on__lte=today, closes_on__gte=today).order_by("-opens_on").first()
        )
        if value == "due_open":
            if programme is None:
                return queryset.none()
            return queryset.filter(
                pk__in=latest, issue_date__lte=issued_on_or_before_for_due(programme.closes_on)
            )
        queryset = queryset.filter(
            pk__in=latest, issue_date__lte=issued_on_or_before_for_due(today - _one_day())
        )
        if programme is None:
            return queryset
        return queryset.exclude(
            Exists(
                RefresherInvitation.objects.filter(
                    programme=programme, holder_hash=OuterRef("enrollment__trainee__id_number_hash")
                )
            )
        )


def _one_day() -> datetime.timedelta:
    return datetime.timedelta(days=1)
