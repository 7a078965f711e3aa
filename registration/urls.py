from django.urls import path

from . import document_views, roster_views, views
from .units import people_views
from .units import views as unit_views

app_name = "registration"

urlpatterns = [
    path("", views.start, name="start"),
    path("unit/", views.unit_register, name="unit_register"),
    path("individual/", views.individual_register, name="individual_register"),
    path("individual/sent/", views.individual_sent, name="individual_sent"),
    path("roster-template.xlsx", views.roster_template_download, name="roster_template"),
    path("a/<str:access_key>/", views.application_detail, name="application_detail"),
    path(
        "a/<str:access_key>/trainees/<int:trainee_pk>/withdraw/",
        views.trainee_withdraw,
        name="trainee_withdraw",
    ),
    path(
        "a/<str:access_key>/trainees/<int:trainee_pk>/edit/",
        roster_views.trainee_edit,
        name="trainee_edit",
    ),
    path("a/<str:access_key>/trainees/add/", roster_views.trainee_add, name="trainee_add"),
    # The unit account (registration.units)
    path("unit-account/", unit_views.home, name="unit_home"),
    path("unit-account/login/", unit_views.login, name="unit_login"),
    path("unit-account/login/code/", unit_views.login_confirm, name="unit_login_confirm"),
    path("unit-account/logout/", unit_views.logout, name="unit_logout"),
    path("unit-account/switch/<int:contact_pk>/", unit_views.switch, name="unit_switch"),
    path("unit-account/recover/", unit_views.recover, name="unit_recover"),
    path("unit-account/recover/code/", unit_views.recover_confirm, name="unit_recover_confirm"),
    path("unit-account/contacts/", unit_views.contacts, name="unit_contacts"),
    path(
        "unit-account/contacts/<int:contact_pk>/remove/",
        unit_views.contact_remove,
        name="unit_contact_remove",
    ),
    path("unit-account/claim/<str:access_key>/", unit_views.claim, name="unit_claim"),
    # The unit's people and the refresher re-registration (registration.units.people_views)
    path("unit-account/people/", people_views.people, name="unit_people"),
    path("unit-account/people/reregister/", people_views.people_reregister, name="unit_people_reregister"),
    path("again/<int:trainee_pk>/", people_views.individual_reregister, name="individual_reregister"),
    path("t/<str:access_key>/", views.attachment2, name="attachment2"),
    path(
        "t/<str:access_key>/documents/<str:kind>/", document_views.trainee_document, name="trainee_document"
    ),
    path("t/<str:access_key>/print.pdf", document_views.attachment2_print, name="attachment2_print"),
    path(
        "staff/documents/<int:trainee_pk>/<str:kind>/", document_views.staff_document, name="staff_document"
    ),
    path(
        "staff/trainees/<int:trainee_pk>/print.pdf",
        document_views.staff_attachment2_print,
        name="staff_attachment2_print",
    ),
]
