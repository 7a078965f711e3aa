from django.urls import path

from . import identity_views, views

app_name = "learning"

urlpatterns = [
    path("", views.centre, name="centre"),
    path("enrollments/<int:pk>/", views.enrollment_detail, name="enrollment_detail"),
    path("enrollments/<int:pk>/lessons/<int:lesson_pk>/", views.lesson_page, name="lesson"),
    path("enrollments/<int:pk>/lessons/<int:lesson_pk>/start/", views.lesson_start, name="lesson_start"),
    path(
        "enrollments/<int:pk>/lessons/<int:lesson_pk>/<str:kind>/",
        views.lesson_media,
        name="lesson_media",
    ),
    path("study/heartbeat/", views.heartbeat, name="heartbeat"),
    path("study/presence/", views.presence, name="presence"),
    path("enrollments/<int:pk>/identity/", identity_views.identity_page, name="identity"),
    path("enrollments/<int:pk>/identity/start/", identity_views.identity_start, name="identity_start"),
    path("identity/<int:pk>/capture/", identity_views.identity_capture, name="identity_capture"),
    path("identity/<int:pk>/status/", identity_views.identity_status, name="identity_status"),
    path("identity/<int:pk>/code/", identity_views.identity_code, name="identity_code"),
    path("offline/<str:token>/", views.offline_checkin, name="offline_checkin"),
    path("activate/<str:token>/", views.activate, name="activate"),
    path("code/", views.code_request, name="code_request"),
    path("code/confirm/", views.code_confirm, name="code_confirm"),
]
