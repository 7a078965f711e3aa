from django.urls import path

from . import views

app_name = "certificates"

urlpatterns = [
    path("<int:pk>/pdf/", views.download, name="download"),
    path("verify/", views.verify, name="verify"),
    path("verify/<str:number>/", views.verify_number, name="verify_number"),
]
