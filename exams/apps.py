from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExamsConfig(AppConfig):
    name = "exams"
    verbose_name = _("Exams")

    def ready(self) -> None:
        from learning.selectors.pipeline import PIPELINE_STEP_PROVIDERS
        from learning.selectors.records import TRAINING_RECORD_SECTIONS

        from .selectors import attempts_training_record, pipeline_exam_step

        # The trainee's pipeline (personal centre, enrollment page) links to the exam and practice.
        PIPELINE_STEP_PROVIDERS["exam"] = pipeline_exam_step
        # The training record (培训档案) lists each exam attempt beside the study.
        if attempts_training_record not in TRAINING_RECORD_SECTIONS:
            TRAINING_RECORD_SECTIONS.append(attempts_training_record)

        # The staff dashboard's charts and the staff digests' alerts (portal.dashboard).
        from .dashboard import register as dashboard_register

        dashboard_register()

        # A rejected exam photo (issue #23, SMS-code trainees) annuls the attempt's pass.
        from learning.signals import exam_photo_reviewed

        from . import receivers

        exam_photo_reviewed.connect(
            receivers.exam_photo_reviewed_annul_attempt, dispatch_uid="exams.exam_photo_reviewed"
        )
