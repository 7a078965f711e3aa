from django.urls import path

from . import views

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
    path("activate/<str:token>/", views.activate, name="activate"),
    path("code/", views.code_request, name="code_request"),
    path("code/confirm/", views.code_confirm, name="code_confirm"),
]
