"""The collection account in admin: one row (bank details, QR code and the payment page's texts)."""

from django.contrib import admin

from portal.admin_audit import AuditedModelAdmin

from ..forms import PaymentSettingsForm
from ..models import PaymentSettings


@admin.register(PaymentSettings)
class PaymentSettingsAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = PaymentSettingsForm
    list_display = ("payee_name", "bank_name", "account_number", "updated_at")

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not PaymentSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
