from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import workday_calendar  # noqa: F401 - registers the calendar check (portal.W301)
        from .login_throttle import on_user_logged_in
        from .messaging import checks  # noqa: F401 - registers the SMS configuration checks

        # A successful log-in ends the account's log-in slow-down (portal/login_throttle.py).
        user_logged_in.connect(on_user_logged_in, dispatch_uid="portal.login_throttle")
