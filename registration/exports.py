"""Spreadsheets of registration: the columns of the reviewers' Excel export of trainees (the admin
list as filtered, written by ``portal.admin_export``, the one export of every admin list)."""

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Trainee
from .selectors import yuan
from .validators import id_number_mask


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def trainee_export_columns(*, full_id: bool) -> list[tuple[Any, Callable[[Trainee], Any], int]]:
    """(header, value, width) of each column of the trainee export; ID numbers in full only with
    ``full_id``. The trainees come with their application and programme (``select_related``)."""
    return [
        (_("application number"), lambda t: t.application.reference, 12),
        (_("unit name"), lambda t: t.application.unit_name, 24),
        (_("row"), lambda t: t.row_number, 5),
        (_("name"), lambda t: t.name, 10),
        (_("gender"), lambda t: t.get_gender_display(), 5),
        (_("ID number"), (lambda t: t.id_number) if full_id else (lambda t: id_number_mask(t.id_number)), 20),
        (_("mobile number"), lambda t: t.mobile, 13),
        (_("certificate type"), lambda t: t.get_certificate_type_display(), 16),
        (_("training category"), lambda t: t.get_training_category_display(), 10),
        (_("previous certificate number"), lambda t: t.previous_certificate_no, 18),
        (_("status"), lambda t: t.get_status_display(), 14),
        (_("reason"), lambda t: t.status_reason, 24),
        (_("fee (yuan)"), lambda t: yuan(t.fee_fen), 10),
        (_("fee paid at"), lambda t: _local(t.paid_at), 16),
        (_("programme"), lambda t: t.programme.name, 20),
        (_("submitted at"), lambda t: _local(t.application.submitted_at), 16),
    ]
