from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments and invoices")

    def ready(self) -> None:
        from portal.workday_calendar import calendar_changed

        from . import receivers

        # A calendar import recomputes the provisional invoice deadlines (after its commit).
        calendar_changed.connect(
            receivers.calendar_changed_recompute_invoices, dispatch_uid="payments.calendar_changed"
        )

        # The application page (registration) reads what is paid and reported per trainee here.
        from registration.selectors import PAYMENT_SHARE_PROVIDERS

        from .selectors import trainees_payment_shares

        PAYMENT_SHARE_PROVIDERS.setdefault("payments", trainees_payment_shares)

        # The staff dashboard's charts and the staff digests' alerts (portal.dashboard).
        from .dashboard import register as dashboard_register

        dashboard_register()
