"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from models.audit import AuditLog, StudentHistory
from models.org import OrgUnit
from models.people import Role, User
from models.student import Guardian, Student

__all__ = ["AuditLog", "Guardian", "OrgUnit", "Role", "Student", "StudentHistory", "User"]
