from django.urls import path

from . import document_views, views

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
