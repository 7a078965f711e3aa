"""Offline sessions (issue #23): staff create a programme's sessions, print the session's QR code
(the absolute check-in URL with its token), see the check-ins and import a paper sign-in sheet."""

import base64
import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from portal.forms import form_errors_apply
from portal.http import client_ip, site_url

from ..models import OfflineCheckIn, OfflineSession
from ..services.offline import (
    offline_checkin_staff_record,
    offline_checkins_import,
    offline_session_create,
    offline_session_validate,
)


def qr_data_uri(url: str) -> str:
    """The QR code of ``url`` as a PNG data URI (zxing-cpp, as the certificates' QR codes)."""
    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = memoryview(code.to_image(scale=8, add_quiet_zones=True))
    height, width = pixels.shape
    out = io.BytesIO()
    Image.frombytes("L", (width, height), pixels.tobytes()).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def checkin_url(session: OfflineSession) -> str:
    return site_url(reverse("learning:offline_checkin", args=[session.token]))


class OfflineSessionForm(forms.ModelForm):
    class Meta:
        model = OfflineSession
        fields = ("programme", "title", "starts_at", "ends_at", "place", "hours")

    def clean(self):
        data = super().clean()
        try:
            offline_session_validate(
                title=data.get("title", ""),
                starts_at=data.get("starts_at"),
                ends_at=data.get("ends_at"),
                place=data.get("place", ""),
                hours=data.get("hours"),
            )
        except ValidationError as exc:
            form_errors_apply(self, exc)
        return data


class SignInSheetForm(forms.Form):
    file = forms.FileField(label=_("Sign-in sheet (.xlsx or .csv)"))


class StaffCheckInForm(forms.Form):
    identifier = forms.CharField(label=_("ID number or mobile number"), max_length=30)


class OfflineCheckInInline(admin.TabularInline):
    model = OfflineCheckIn
    fields = ("enrollment", "method", "checked_in_at", "by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("enrollment__trainee", "enrollment__programme", "by")
        )


@admin.register(OfflineSession)
class OfflineSessionAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = OfflineSessionForm
    list_display = ("title", "programme", "starts_at", "ends_at", "place", "hours", "checkin_count")
    list_filter = ("programme",)
    search_fields = ("title", "place")
    list_select_related = ("programme",)
    readonly_fields = ("created_by", "created_at", "checkin_link")
    inlines = [OfflineCheckInInline]
    change_form_template = "admin/learning/offlinesession/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(checkin_total=Count("checkins"))

    @admin.display(description=_("check-ins"), ordering="checkin_total")
    def checkin_count(self, obj) -> int:
        return getattr(obj, "checkin_total", 0)

    @admin.display(description=_("QR code and sign-in sheet"))
    def checkin_link(self, obj) -> str:
        if not obj.pk:
            return "—"
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            reverse("admin:learning_offlinesession_qr", args=[obj.pk]),
            gettext("Printable QR code"),
            reverse("admin:learning_offlinesession_import", args=[obj.pk]),
            gettext("Import the sign-in sheet"),
        )

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        session = offline_session_create(
            programme=data["programme"],
            title=data["title"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            place=data["place"],
            hours=data["hours"],
            actor=request.user,
            ip=client_ip(request),
        )
        obj.pk, obj.token, obj.created_by, obj.created_at = (
            session.pk,
            session.token,
            session.created_by,
            session.created_at,
        )
        obj._state.adding = False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/qr/", wrap(self.qr_view), name="learning_offlinesession_qr"),
            path("<int:pk>/import/", wrap(self.import_view), name="learning_offlinesession_import"),
            path("<int:pk>/check-in/", wrap(self.checkin_view), name="learning_offlinesession_checkin"),
            *super().get_urls(),
        ]

    def qr_view(self, request, pk: int):
        """A page to print and put up at the venue: the session and its check-in QR code."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        session = get_object_or_404(OfflineSession.objects.select_related("programme"), pk=pk)
        url = checkin_url(session)
        context = {"session": session, "url": url, "qr": qr_data_uri(url)}
        return TemplateResponse(request, "admin/learning/offlinesession/qr.html", context)

    def import_view(self, request, pk: int):
        if not request.user.has_perm("learning.import_offlinecheckin"):
            raise PermissionDenied
        session = get_object_or_404(OfflineSession.objects.select_related("programme"), pk=pk)
        form = SignInSheetForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                outcome = offline_checkins_import(
                    session=session,
                    upload=form.cleaned_data["file"],
                    actor=request.user,
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                self.message_user(
                    request,
                    gettext("%(created)s trainees checked in (%(already)s already were).")
                    % {"created": outcome.created, "already": outcome.already},
                    messages.SUCCESS,
                )
                return redirect("admin:learning_offlinesession_change", session.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import the sign-in sheet of %(session)s") % {"session": session},
            "form": form,
            "session": session,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/learning/offlinesession/import.html", context)

    def checkin_view(self, request, pk: int):
        """Staff check one trainee in by hand (service ``offline_checkin_staff_record``; audited)."""
        if not request.user.has_perm("learning.import_offlinecheckin"):
            raise PermissionDenied
        session = get_object_or_404(OfflineSession.objects.select_related("programme"), pk=pk)
        form = StaffCheckInForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = offline_checkin_staff_record(
                    session=session,
                    identifier=form.cleaned_data["identifier"],
                    actor=request.user,
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                self.message_user(
                    request,
                    (
                        gettext("%(name)s is checked in.")
                        if result.created
                        else gettext("%(name)s had already checked in.")
                    )
                    % {"name": result.checkin.enrollment.trainee.name},
                    messages.SUCCESS,
                )
                return redirect("admin:learning_offlinesession_change", session.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Check a trainee in to %(session)s") % {"session": session},
            "form": form,
            "session": session,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/learning/offlinesession/checkin.html", context)
