from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin  # imported first: Group is registered, then replaced
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from .admin_audit import AuditedModelAdmin
from .models import Association, AuditEntry, User
from .validators import mobile_validate


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
