from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = _("Learning")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from registration.signals import trainee_paid

        from .receivers import trainee_paid_open_account, user_logged_out_end_study

        trainee_paid.connect(trainee_paid_open_account, dispatch_uid="learning.trainee_paid_open_account")
        user_logged_out.connect(user_logged_out_end_study, dispatch_uid="learning.user_logged_out_end_study")

        from .selectors.pipeline import PIPELINE_STEP_PROVIDERS
        from .selectors.study import study_pipeline_step

        PIPELINE_STEP_PROVIDERS.setdefault("study", study_pipeline_step)

        # The staff dashboard lists who could not be reached (SMS failed and no e-mail).
        from portal.messaging.selectors import dashboard_section as unreachable_section

        from .admin import DASHBOARD_SECTIONS

        if unreachable_section not in DASHBOARD_SECTIONS:
            DASHBOARD_SECTIONS.insert(0, unreachable_section)
        # ... and, first, the warning while the working-day calendar lacks next year's official data.
        from portal.workday_calendar import dashboard_section as calendar_section

        if calendar_section not in DASHBOARD_SECTIONS:
            DASHBOARD_SECTIONS.insert(0, calendar_section)

        # The staff dashboard's charts and the staff digests' alerts (portal.dashboard).
        from .dashboard import register as dashboard_register

        dashboard_register()
