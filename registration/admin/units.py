"""Unit accounts (issue #21): units by credit code with their contacts, and merging duplicates.

Contacts are added and removed through :mod:`registration.services.units` (audited, with the staff
member as the one who did it), never by editing rows directly; a merge moves the applications and
contacts of the other selected units into the one kept, unit by unit, each reported.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_actions import bulk_run
from portal.admin_audit import AuditedModelAdmin
from portal.http import client_ip
from portal.validators import mobile_validate

from ..models import Unit, UnitContact
from ..services.units import unit_contact_add, unit_contact_remove, unit_merge


class UnitContactForm(forms.ModelForm):
    class Meta:
        model = UnitContact
        fields = ("mobile", "name", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # an existing contact: only "active" changes (through the services)
            self.fields["mobile"].disabled = True
            self.fields["name"].disabled = True

    def clean_mobile(self) -> str:
        return mobile_validate(self.cleaned_data["mobile"])


class UnitContactInline(admin.TabularInline):
    model = UnitContact
    form = UnitContactForm
    fk_name = "unit"
    extra = 0
    can_delete = False
    fields = ("mobile", "name", "active", "added_by_contact", "added_by_staff", "created_at")
    readonly_fields = ("added_by_contact", "added_by_staff", "created_at")


@admin.register(Unit)
class UnitAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "name",
        "credit_code",
        "applications_count",
        "contacts_count",
        "merged_into",
        "created_at",
    )
    search_fields = ("name", "credit_code")
    list_filter = (("merged_into", admin.EmptyFieldListFilter),)
    fields = ("name", "credit_code", "merged_into", "created_at")
    readonly_fields = ("merged_into", "created_at")
    inlines = (UnitContactInline,)
    actions = ("merge_selected",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("merged_into")
            .annotate(
                applications_total=Count("applications", distinct=True),
                contacts_active=Count("contacts", filter=Q(contacts__active=True), distinct=True),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "credit_code") if obj is not None else self.readonly_fields

    @admin.display(description=_("applications"), ordering="applications_total")
    def applications_count(self, obj: Unit) -> int:
        return obj.applications_total

    @admin.display(description=_("active contacts"), ordering="contacts_active")
    def contacts_count(self, obj: Unit) -> int:
        return obj.contacts_active

    def save_formset(self, request, form, formset, change):
        """Contacts go through the services: added by this staff member, removed (deactivated) or
        re-added; a refusal is reported and the rest saved."""
        if formset.model is not UnitContact:
            return super().save_formset(request, form, formset, change)
        unit = form.instance
        ip = client_ip(request)
        for row in formset.forms:
            if not row.has_changed() or not row.is_valid() or not row.cleaned_data:
                continue
            contact = row.instance
            try:
                if contact.pk is None:
                    unit_contact_add(
                        unit=unit,
                        mobile=row.cleaned_data["mobile"],
                        name=row.cleaned_data.get("name", ""),
                        by_staff=request.user,
                        ip=ip,
                    )
                elif "active" in row.changed_data and not row.cleaned_data["active"]:
                    unit_contact_remove(contact=contact, by_staff=request.user, ip=ip)
                elif "active" in row.changed_data:
                    unit_contact_add(unit=unit, mobile=row.initial["mobile"], by_staff=request.user, ip=ip)
            except ValidationError as exc:
                self.message_user(
                    request,
                    gettext("%(contact)s: not done: %(error)s")
                    % {"contact": row.cleaned_data.get("mobile", ""), "error": " ".join(exc.messages)},
                    messages.ERROR,
                )
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    @admin.action(description=_("Merge the selected units into one"), permissions=["change"])
    def merge_selected(self, request, queryset):
        units = list(queryset.filter(merged_into__isnull=True).order_by("pk"))
        if len(units) < 2:
            self.message_user(
                request, gettext("Select at least two units that were not merged before."), messages.WARNING
            )
            return None
        target_pk = request.POST.get("target")
        target = next((unit for unit in units if str(unit.pk) == target_pk), None)
        if "apply" in request.POST and target is not None:
            ip = client_ip(request)

            def merge(source: Unit) -> None:
                result = unit_merge(source=source, target=target, actor=request.user, ip=ip)
                self.message_user(
                    request,
                    gettext(
                        "%(source)s into %(target)s: %(applications)s applications, %(moved)s contacts moved, "
                        "%(joined)s contacts already there."
                    )
                    % {
                        "source": source,
                        "target": target,
                        "applications": result.applications,
                        "moved": result.contacts_moved,
                        "joined": result.contacts_joined,
                    },
                    messages.INFO,
                )

            bulk_run(
                modeladmin=self,
                request=request,
                objects=[unit for unit in units if unit.pk != target.pk],
                call=merge,
                done_message=gettext("%(count)s units merged: %(names)s."),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Merge units"),
            "opts": self.model._meta,
            "units": units,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "missing_target": "apply" in request.POST,
        }
        return TemplateResponse(request, "admin/registration/unit/merge.html", context)
