from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import selectors, services
from .forms import MobileLoginForm
from .http import client_ip


def home(request):
    return render(request, "portal/home.html", {"announcements": selectors.announcements_for_home()})


ANNOUNCEMENTS_PER_PAGE = 20


@require_GET
def announcement_list(request):
    """The announcements shown now, pinned first, then the latest (20 a page)."""
    paginator = Paginator(selectors.announcements_current(), ANNOUNCEMENTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "portal/announcement_list.html", {"page": page, "announcements": page.object_list})


@require_GET
def announcement_detail(request, pk: int):
    """One announcement while it is shown; before its publish time or after expiry: not found."""
    announcement = selectors.announcement_shown(pk=pk)
    if announcement is None:
        raise Http404
    return render(request, "portal/announcement_detail.html", {"announcement": announcement})


@require_GET
def guide(request):
    """The platform guide (附件3 学习平台指引): log-in to certificate, with screenshots of the portal
    in the page's language (made by ``make screenshots``)."""
    return render(request, "portal/guide.html", {"shots": selectors.guide_shots(language=get_language())})


@require_GET
def faq(request):
    """Frequently asked questions, edited by staff in admin (published entries only)."""
    return render(request, "portal/faq.html", {"topics": selectors.faq_topics_published()})


@never_cache
@require_GET
def healthz(request):
    """Liveness of a web process (load balancers, benchmarks' bare view): no database, no session."""
    return HttpResponse("ok", content_type="text/plain")


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = MobileLoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        """Without a safe ``next``: a trainee lands on the personal centre (个人中心), staff on the home
        page (which links to administration)."""
        if self.request.user.is_staff:
            return resolve_url(settings.LOGIN_REDIRECT_URL)
        return resolve_url("learning:centre")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttle_wait:  # the account waits for its turn (portal.login_throttle)
            response.status_code = 429
            response["Retry-After"] = str(form.throttle_wait)
        return response


@staff_member_required
@require_http_methods(["GET", "POST"])
def system_status(request):
    """Staff page: shows the task queue is alive; the button queues a probe task to the worker."""
    if request.method == "POST":
        services.worker_ping_request(actor=request.user, ip=client_ip(request))
        messages.success(request, _("A test task was queued. Reload this page in a few seconds."))
        return redirect("portal:system_status")
    context = {
        "pings": selectors.worker_pings_recent(),
        "broker": settings.CELERY_BROKER_URL.split("://", 1)[0],
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
    }
    return render(request, "portal/system_status.html", context)
