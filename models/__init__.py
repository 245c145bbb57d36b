"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from models.audit import AuditLog, StudentHistory
from models.calendar import CalendarDay
from models.changes import ApprovalStep, Attachment, ChangeRequest, Notification, PrintedDocument
from models.org import OrgUnit
from models.people import Role, User
from models.student import Guardian, Student

__all__ = [
    "ApprovalStep",
    "Attachment",
    "AuditLog",
    "CalendarDay",
    "ChangeRequest",
    "Guardian",
    "Notification",
    "OrgUnit",
    "PrintedDocument",
    "Role",
    "Student",
    "StudentHistory",
    "User",
]
