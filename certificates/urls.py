from django.urls import path

from . import refresher_views, views

app_name = "certificates"

urlpatterns = [
    path("<int:pk>/pdf/", views.download, name="download"),
    path("verify/", views.verify, name="verify"),
    path("verify/<str:number>/", views.verify_number, name="verify_number"),
    path(
        "refresher/stop/<int:pk>/<str:signature>/",
        refresher_views.refresher_opt_out_page,
        name="refresher_opt_out",
    ),
]
