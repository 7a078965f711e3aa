from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("a/<str:access_key>/", views.application_pay, name="application_pay"),
    path("qr-code/", views.qr_image, name="qr_image"),
    path("screenshots/<int:pk>/", views.payment_screenshot, name="payment_screenshot"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
