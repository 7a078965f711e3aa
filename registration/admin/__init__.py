"""Django admin for reviewers: programmes, applications (attachment 1) and trainees (attachment 2).

Nothing here changes a status directly: the review actions call the services row by row and
report each row's outcome. ID numbers are masked everywhere except on a trainee's page for staff
with ``registration.view_full_id_number`` (each such view is written to the audit log).

A unit roster row saved as a duplicate of a live registration (the public form tells nobody) is
marked “Duplicate of <link>” in the lists and on its page, found with the “duplicate” filter, and
offers only “Reject”: approving it is refused by the service.
"""

from .applications import ApplicationAdmin, TraineeInline
from .common import can_see_full_id, duplicate_marker, industry_label
from .programmes import ProgrammeAdmin
from .return_reasons import ReturnReasonAdmin
from .trainees import ConsentInline, TraineeAdmin
from .units import UnitAdmin, UnitContactInline

__all__ = [
    "ApplicationAdmin",
    "ConsentInline",
    "ProgrammeAdmin",
    "ReturnReasonAdmin",
    "TraineeAdmin",
    "TraineeInline",
    "UnitAdmin",
    "UnitContactInline",
    "can_see_full_id",
    "duplicate_marker",
    "industry_label",
]
