"""The read-only inspector (issue #23): every admin page or file an inspector opens is audited.

Django admin does not log views; this middleware writes one ``inspector.viewed`` audit entry for
each request of a user in the inspector group to an admin page or a staff file view (URL names
``staff_*``, e.g. the registration photo) that was answered (2xx): the URL, the view's name and, on
an object's page, the object as the entry's target. The progress polls of a run (``*_status``, JSON)
are not pages and are left out. Inspectors have view
permissions only (portal.roles.INSPECTOR_PERMISSIONS), so these are reads: lists, records, the
one-person files and their downloads.
"""

from django.urls import reverse

from .http import client_ip
from .roles import is_inspector
from .services import audit_record

INSPECTOR_VIEW_ACTION = "inspector.viewed"


def _target(request):
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    model_admin = getattr(match.func, "model_admin", None)
    object_id = match.kwargs.get("object_id")
    if model_admin is None or not object_id:
        return None
    try:
        return model_admin.model._default_manager.filter(pk=object_id).first()
    except (ValueError, TypeError):
        return None


class InspectorAuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        response = self.get_response(request)
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        match = getattr(request, "resolver_match", None)
        url_name = (match.url_name or "") if match else ""
        staff_page = request.path.startswith(self.admin_prefix) or url_name.startswith("staff_")
        if (
            200 <= response.status_code < 300
            and staff_page
            and not url_name.endswith("_status")
            and is_inspector(getattr(request, "user", None))
        ):
            audit_record(
                actor=request.user,
                action=INSPECTOR_VIEW_ACTION,
                target=_target(request),
                new={
                    "path": request.get_full_path()[:500],
                    "view": match.view_name if match else "",
                    "method": request.method,
                },
                ip=client_ip(request),
            )
        return response
