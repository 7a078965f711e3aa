from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("Certificates")

    def ready(self) -> None:
        from celery.signals import worker_init, worker_process_init

        from exams.signals import exam_passed
        from learning.admin import DASHBOARD_SECTIONS
        from learning.retention import RETENTION_PURGERS
        from learning.selectors.pipeline import PIPELINE_PREFETCHERS, PIPELINE_STEP_PROVIDERS

        from . import receivers, selectors
        from .services.retention import certificates_purge_mailing_details

        # Celery workers warm the certificate renderer before their pool forks, and in each process.
        worker_init.connect(receivers.worker_starting_warm_up, dispatch_uid="certificates.warm_up")
        worker_process_init.connect(
            receivers.worker_process_warm_up, dispatch_uid="certificates.warm_up_process"
        )
        # A passed exam queues the certificate (after the grading commits).
        exam_passed.connect(receivers.exam_passed_issue_certificate, dispatch_uid="certificates.issue")
        # An approved exam photo (issue #23) releases the certificate it held (after the commit).
        from learning.signals import exam_photo_reviewed

        exam_photo_reviewed.connect(
            receivers.exam_photo_approved_issue_certificate, dispatch_uid="certificates.exam_photo"
        )
        # A calendar import recomputes the provisional mailing deadlines (after its commit).
        from portal.workday_calendar import calendar_changed

        calendar_changed.connect(
            receivers.calendar_changed_recompute_mailing, dispatch_uid="certificates.calendar_changed"
        )
        # The trainee's pipeline shows the certificate (download) and the mailing (tracking number).
        if selectors.pipeline_prefetch not in PIPELINE_PREFETCHERS:
            PIPELINE_PREFETCHERS.append(selectors.pipeline_prefetch)
        PIPELINE_STEP_PROVIDERS["certificate"] = selectors.pipeline_certificate_step
        PIPELINE_STEP_PROVIDERS["mailing"] = selectors.pipeline_mailing_step
        # The staff dashboard lists certificates due and overdue for mailing.
        if selectors.dashboard_section not in DASHBOARD_SECTIONS:
            DASHBOARD_SECTIONS.append(selectors.dashboard_section)
        # The retention purge empties the certificates' copy of the mailing details.
        if certificates_purge_mailing_details not in RETENTION_PURGERS:
            RETENTION_PURGERS.append(certificates_purge_mailing_details)
        # The refresher rule for registration's pages (the unit's people, the personal centre), and
        # a refresher re-registration links its invitations (after the commit).
        from registration.signals import refresher_registered
        from registration.units.people import REFRESHER_RULE

        from .refresher import refresher_info

        REFRESHER_RULE["info"] = refresher_info
        refresher_registered.connect(
            receivers.refresher_registered_link, dispatch_uid="certificates.refresher_registered"
        )

        # The staff dashboard's charts and the staff digests' alerts (portal.dashboard).
        from .dashboard import register as dashboard_register

        dashboard_register()
