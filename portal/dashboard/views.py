"""The staff dashboard page in admin (``/admin/dashboard/``): each role's alerts and charts."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .selectors import dashboard_filter, dashboard_sections, programme_choices, user_roles
from .svg import chart_svg


class DashboardFilterForm(forms.Form):
    programme = forms.TypedChoiceField(label=gettext_lazy("Programme"), coerce=int, required=False)
    start = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, programmes: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].choices = [(0, _("All programmes")), *programmes]


def staff_dashboard(admin_site, request):
    """Charts of the user's roles (a superuser sees every role) for one programme and date range."""
    roles = user_roles(request.user)
    if not roles:
        raise PermissionDenied
    programmes, current = programme_choices()
    form = DashboardFilterForm(request.GET or None, programmes=programmes)
    data = form.cleaned_data if form.is_valid() else {}
    programme = data.get("programme")
    flt = dashboard_filter(
        programme_id=programme if programme not in (None, "") else None,
        start=data.get("start"),
        end=data.get("end"),
        default_programme_id=current,
    )
    if not form.is_bound or not form.is_valid():
        form = DashboardFilterForm(
            initial={"programme": flt.programme_id or 0, "start": flt.start, "end": flt.end},
            programmes=programmes,
        )
    sections = dashboard_sections(roles=roles, flt=flt)
    for section in sections:
        for chart in section["charts"]:
            chart.svg = chart_svg(chart, dom_id=chart.dom_id)
    context = {
        **admin_site.each_context(request),
        "title": _("Staff dashboard"),
        "form": form,
        "filter": flt,
        "programme_name": dict(programmes).get(flt.programme_id, _("All programmes")),
        "sections": sections,
    }
    return TemplateResponse(request, "admin/portal/dashboard.html", context)
