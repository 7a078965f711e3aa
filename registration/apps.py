from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = _("Registration")

    def ready(self) -> None:
        # The staff dashboard's charts and the staff digests' alerts (portal.dashboard).
        from .dashboard import register as dashboard_register

        dashboard_register()
