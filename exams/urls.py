from django.urls import path

from . import views

app_name = "exams"

urlpatterns = [
    path("e/<int:enrollment_id>/", views.exam_home, name="home"),
    path("e/<int:enrollment_id>/start/", views.attempt_start, name="start"),
    path("e/<int:enrollment_id>/practice/", views.practice, name="practice"),
    path("a/<int:pk>/", views.attempt_page, name="attempt"),
    path("a/<int:pk>/answer/", views.attempt_answer, name="answer"),
    path("a/<int:pk>/state/", views.attempt_state, name="state"),
    path("a/<int:pk>/submit/", views.attempt_submit, name="submit"),
    path("a/<int:pk>/result/", views.attempt_result, name="result"),
]
