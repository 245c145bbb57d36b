"""Every declared change type, imported once so that workflows.TYPES is complete wherever the
app runs (web, CLI, tests): each module declares its types when it is imported."""

from services import (
    archive,  # noqa: F401  (registers the filing of evidence after every effect)
    departures,
    enrollment,
    graduation,
    placements,
    suspension,
    transfer,
)
from services.certificates import record_proof

MODULES = (transfer, enrollment, suspension, departures, placements, graduation, record_proof)
