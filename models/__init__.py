"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from models.access_review import AccessReview, AccessReviewItem
from models.api_token import ApiToken  # noqa: F401  (registers the table)
from models.archive import ArchiveBackup, ArchiveDocument, Award, FinancialAid, GradeRecord, HealthRecord, QualityReport
from models.audit import AuditLog, StudentHistory
from models.calendar import CalendarDay, OfficialCalendarYear
from models.changes import ApprovalStep, Attachment, ChangeRequest, Notification, PrintedDocument
from models.export_request import ExportDownload, ExportRequest  # noqa: F401
from models.graduation import Certificate, GraduationRecord
from models.imports import ImportJob  # noqa: F401  (registers the table)
from models.inbox import NotificationPreference, UserNotification
from models.org import OrgUnit
from models.oversight import CheckCampaign, CheckCompletion
from models.paper import PaperFileLocation, PaperHandover
from models.people import Role, User
from models.photo import PupilPhoto  # noqa: F401  (registers the table)
from models.problems import ProblemRecord
from models.promotion import PromotionRun
from models.pupil_card import PupilCard  # noqa: F401  (registers the table)
from models.pupil_count import PupilCountDelta  # noqa: F401  (registers the table)
from models.rosters import RosterSubmission, SchoolRegistrar
from models.saved_filter import SavedFilter  # noqa: F401  (registers the table)
from models.school_class import SchoolClass
from models.sessions import LoginSession
from models.status import Absence, ArchiveHandover, FamilyContact, Suspension
from models.student import Guardian, Student
from models.submissions import FormSubmission  # noqa: F401  (registers the table)

__all__ = [
    "Absence",
    "AccessReview",
    "AccessReviewItem",
    "ApprovalStep",
    "ArchiveBackup",
    "ArchiveDocument",
    "ArchiveHandover",
    "Attachment",
    "AuditLog",
    "Award",
    "CalendarDay",
    "Certificate",
    "ChangeRequest",
    "CheckCampaign",
    "CheckCompletion",
    "FamilyContact",
    "FinancialAid",
    "GradeRecord",
    "GraduationRecord",
    "Guardian",
    "HealthRecord",
    "LoginSession",
    "Notification",
    "NotificationPreference",
    "OfficialCalendarYear",
    "OrgUnit",
    "PaperFileLocation",
    "PaperHandover",
    "PrintedDocument",
    "ProblemRecord",
    "PromotionRun",
    "QualityReport",
    "Role",
    "RosterSubmission",
    "SchoolClass",
    "SchoolRegistrar",
    "Student",
    "StudentHistory",
    "Suspension",
    "User",
    "UserNotification",
]
