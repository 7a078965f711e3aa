from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save

        from . import workday_calendar  # noqa: F401 - registers the calendar check (portal.W301)
        from .login_throttle import on_user_logged_in
        from .messaging import checks  # noqa: F401 - registers the SMS configuration checks
        from .models import Contact
        from .selectors import contacts_cache_clear

        # A successful log-in ends the account's log-in slow-down (portal/login_throttle.py).
        user_logged_in.connect(on_user_logged_in, dispatch_uid="portal.login_throttle")
        # The footer's cached contacts (portal.selectors.contacts_active) follow every edit.
        post_save.connect(contacts_cache_clear, sender=Contact, dispatch_uid="portal.contacts_cache.save")
        post_delete.connect(contacts_cache_clear, sender=Contact, dispatch_uid="portal.contacts_cache.delete")
