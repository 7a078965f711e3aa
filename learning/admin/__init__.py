"""Learning's staff side, split by what staff work on: ``enrollments`` (study accounts, the
extension and staff-hours actions, the pipeline dashboard) and ``courses`` (courses, lessons,
course plans, study rules and the training record)."""

from .courses import CourseAdmin, CoursePlanAdmin, LessonAdmin, ProgrammeStudyRuleAdmin, StudyRecordAdmin
from .enrollments import DASHBOARD_SECTIONS, EnrollmentAdmin, PipelineDashboardAdmin
from .identity import IdentityCheckAdmin
from .offline import OfflineSessionAdmin

__all__ = [
    "DASHBOARD_SECTIONS",
    "CourseAdmin",
    "CoursePlanAdmin",
    "EnrollmentAdmin",
    "IdentityCheckAdmin",
    "LessonAdmin",
    "OfflineSessionAdmin",
    "PipelineDashboardAdmin",
    "ProgrammeStudyRuleAdmin",
    "StudyRecordAdmin",
]
