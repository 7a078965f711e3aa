from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExamsConfig(AppConfig):
    name = "exams"
    verbose_name = _("Exams")

    def ready(self) -> None:
        from learning.selectors import PIPELINE_STEP_PROVIDERS

        from .selectors import pipeline_exam_step

        # The trainee's pipeline (personal centre, enrollment page) links to the exam and practice.
        PIPELINE_STEP_PROVIDERS["exam"] = pipeline_exam_step
