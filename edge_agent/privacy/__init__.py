"""Privacy on the edge: the guard that redacts what goes to the cloud and the log of what went.

- `PrivacyGuard` / `Redaction` / `PrivateSpan`: typed, stable placeholders for private spans;
  `guard.private_spans(text)` is the one notion of private (redaction, leaks, fuse).
- `PrivacySettings` / `BASIC` / `settings_from_config`: which span sources the guard uses
  (context, patterns, sensitive-category lexicon, the presidio + spaCy recognizer).
- `PlaceholderVault` / `PlaceholderRestorer`: numbering and (streaming) restoration.
- `CopyDetector` / `copied_runs`: what a fused answer copies from the notes.
- `allow` / `disallow` / `read_allow_list`: the user's allow-list of public names.
- `AuditLog` / `AuditEntry` / `format_entries`: the outbound audit log (JSONL, 0600).
"""

from edge_agent.privacy.allowlist import allow, allow_file, disallow, read_allow_list
from edge_agent.privacy.audit import AuditEntry, AuditLog, format_entries
from edge_agent.privacy.copying import CopiedRun, CopyDetector, copied_runs
from edge_agent.privacy.entities import Entity, extract_entities
from edge_agent.privacy.guard import PrivacyGuard, PrivateSpan, Redaction
from edge_agent.privacy.patterns import KINDS as PLACEHOLDER_KINDS
from edge_agent.privacy.patterns import find_pii
from edge_agent.privacy.settings import BASIC, PrivacySettings, settings_from_config
from edge_agent.privacy.vault import PlaceholderRestorer, PlaceholderVault

__all__ = [
    "AuditEntry",
    "AuditLog",
    "BASIC",
    "CopiedRun",
    "CopyDetector",
    "Entity",
    "PLACEHOLDER_KINDS",
    "PlaceholderRestorer",
    "PlaceholderVault",
    "PrivacyGuard",
    "PrivacySettings",
    "PrivateSpan",
    "Redaction",
    "allow",
    "allow_file",
    "copied_runs",
    "disallow",
    "extract_entities",
    "find_pii",
    "format_entries",
    "read_allow_list",
    "settings_from_config",
]
