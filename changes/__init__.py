"""The change types (学籍变动, 第三章), one module each (a family of types that share their dates
and checks, such as 休学/休学延期/复学, is one module). Importing this package declares every type
in the one registry, services.workflows.TYPES, wherever the app runs (web, CLI, tests).

Layers (pyproject.toml, import-linter): admin | cli | public → changes → forms → services → models.
A change-type module may use forms and services; nothing below imports it, and no change-type
module imports another (the independence contract). Services name a type by its code
(services/change_codes.py) and read what they need of it from the registry.
"""

from changes import (
    class_change,
    departures,
    enrollment,
    graduation_roster,
    placements,
    record_proof,
    suspension,
    transfer,
)
from services import archive  # noqa: F401  (registers the filing of evidence after every effect)

MODULES = (transfer, enrollment, suspension, departures, placements, graduation_roster, record_proof, class_change)
