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

        from .selectors import PIPELINE_STEP_PROVIDERS, study_pipeline_step

        PIPELINE_STEP_PROVIDERS.setdefault("study", study_pipeline_step)
