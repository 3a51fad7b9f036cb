"""Information sharing agreements: models, loading from YAML, lifecycle state."""

from hub.agreements.loader import load_agreement, load_agreements
from hub.agreements.models import (
    Agreement,
    Approval,
    FieldClause,
    LegalBasis,
    Signature,
    Status,
)

__all__ = [
    "Agreement",
    "Approval",
    "FieldClause",
    "LegalBasis",
    "Signature",
    "Status",
    "load_agreement",
    "load_agreements",
]
