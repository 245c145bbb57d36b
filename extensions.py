"""Flask extensions, created once and bound in create_app()."""

from flask_babel import Babel
from flask_migrate import Migrate
from flask_security import Security
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# No autoflush: a change is flushed when a service says so (or at commit), so history and the
# "core data is locked" rule always see the whole change with its actor, never half of it.
db = SQLAlchemy(model_class=Base, session_options={"autoflush": False})
migrate = Migrate()
babel = Babel()
security = Security()
csrf = CSRFProtect()
