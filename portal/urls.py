from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from registration import programme_views  # the site's URLs: the public programme pages at the root

from . import views
from .forms import PortalAdminAuthenticationForm

portal_patterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("guide/", views.guide, name="guide"),
    path("faq/", views.faq, name="faq"),
    path("announcements/", views.announcement_list, name="announcements"),
    path("announcements/<int:pk>/", views.announcement_detail, name="announcement"),
    path("programmes/", programme_views.programme_list, name="programmes"),
    path("programmes/<int:pk>/", programme_views.programme_detail, name="programme"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("system/", views.system_status, name="system_status"),
    path("healthz", views.healthz, name="healthz"),
]

admin.site.site_header = _("Training portal administration")
admin.site.site_title = _("Training portal administration")
admin.site.index_title = _("Administration")
admin.site.login_form = PortalAdminAuthenticationForm  # the per-account log-in slow-down

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("registration/", include("registration.urls")),
    path("payments/", include("payments.urls")),
    path("learning/", include("learning.urls")),
    path("exams/", include("exams.urls")),
    path("certificates/", include("certificates.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
