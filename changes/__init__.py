"""The change types (学籍变动, 第三章), one module each (a family of types that share their dates
and checks, such as 休学/休学延期/复学, is one module). Importing this package declares every type
in the one registry, services.workflows.TYPES, wherever the app runs (web, CLI, tests).

Layers (pyproject.toml, import-linter): admin | cli | public → changes → forms → services → models.
A change-type module may use forms and services; nothing below imports it, and no change-type
module imports another (the independence contract). Services name a type by its code
(services/change_codes.py) and read what they need of it from the registry.
"""

# In this order: the registry keeps it, and it is the order of the pupil page's buttons, of the
# type filter and of the demo's requests (so the imports are not sorted by name).
from changes import transfer  # noqa: I001
from changes import enrollment
from changes import suspension
from changes import departures
from changes import placements
from changes import graduation_roster
from changes import record_proof
from changes import class_change
from services import archive  # noqa: F401  (registers the filing of evidence after every effect)

MODULES = (transfer, enrollment, suspension, departures, placements, graduation_roster, record_proof, class_change)
