"""Privacy on the edge: the guard that redacts what goes to the cloud and the log of what went.

- `PrivacyGuard` / `Redaction`: typed, stable placeholders for private spans and PII.
- `AuditLog` / `AuditEntry` / `format_entries`: the outbound audit log (JSONL, 0600).
"""

from edge_agent.privacy.audit import AuditEntry, AuditLog, format_entries
from edge_agent.privacy.entities import Entity, extract_entities
from edge_agent.privacy.guard import PrivacyGuard, Redaction
from edge_agent.privacy.patterns import KINDS as PLACEHOLDER_KINDS
from edge_agent.privacy.patterns import find_pii

__all__ = [
    "AuditEntry",
    "AuditLog",
    "Entity",
    "PLACEHOLDER_KINDS",
    "PrivacyGuard",
    "Redaction",
    "extract_entities",
    "find_pii",
    "format_entries",
]
