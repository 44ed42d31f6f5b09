"""The placeholder vault: stable typed placeholders for private spans, and their restoration.

The vault knows nothing about *which* spans are private (that is `spans.py`); it numbers
them. The same entity always gets the same placeholder within one vault (`[PERSON_1]`), the
parts of a multi-word name share their family's number (`[PERSON_1_LAST]`), and `restore()`
puts the originals back, tolerating what models do to placeholders (`person_1`, `[Person 1]`).

Text that already looks like a placeholder is never confused with one: a token this vault
issued passes through (cloud output may be sent up again); any other is escaped as a
`[PRIVATE_n]` placeholder of its own, and its number is never issued.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

from edge_agent.privacy.entities import Entity
from edge_agent.privacy.patterns import KINDS

_KIND = "|".join(KINDS)
_ROLE = r"FIRST|LAST|MIDDLE\d*|PART\d+"
# A placeholder as a model may write it back: bracketed (spaces and case tolerated) or bare.
TOKEN_RE = re.compile(
    rf"\[[ \t]*({_KIND})[_ \t-]?(\d{{1,6}})(?:[_ \t-]({_ROLE}))?[ \t]*\]"
    rf"|\[?(?<![A-Za-z0-9_])({_KIND})_(\d{{1,6}})(?:_({_ROLE}))?(?![A-Za-z0-9_])\]?",
    re.IGNORECASE,
)


def canonical(match: re.Match[str]) -> str:
    """The placeholder a token stands for: "[person_1]", "PERSON_1" -> "[PERSON_1]"."""
    kind, number, role = match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)
    suffix = f"_{role.upper()}" if role else ""
    return f"[{kind.upper()}_{int(number)}{suffix}]"


def token_spans(text: str) -> list[tuple[int, int]]:
    """Where placeholder-like tokens are in `text`."""
    return [m.span() for m in TOKEN_RE.finditer(text)]


class PlaceholderVault:
    """Numbers private entities and restores placeholders; thread-safe.

    `family_of(key)` gives (root entity or None, members) of a multi-word name's family, so
    that its parts share one number; the span finder's entity index provides it.
    """

    def __init__(self, family_of: Callable[[str], tuple[Entity | None, Sequence[Entity]]] | None = None) -> None:
        self._family_of = family_of or (lambda key: (None, ()))
        self._placeholder: dict[str, str] = {}  # entity key -> placeholder
        self._known: dict[str, str] = {}  # every placeholder allocated -> original
        self._issued: dict[str, str] = {}  # placeholders that went out -> original
        self._literals: dict[str, str] = {}  # user text that looked like a placeholder -> its escape
        self._opened: set[str] = set()  # families that have their number
        self._last_number: dict[str, int] = {}
        self._reserved: set[tuple[str, int]] = set()
        self._lock = threading.RLock()

    # -- what the guard asks ---------------------------------------------------------------

    def reserve(self, text: str) -> None:
        """Numbers of placeholder-like text we did not issue are never issued."""
        with self._lock:
            for match in TOKEN_RE.finditer(text):
                if not self.is_ours(match.group()):
                    kind, number = canonical(match)[1:-1].split("_")[:2]
                    self._reserved.add((kind, int(number)))

    def is_ours(self, span: str) -> bool:
        """A placeholder this vault issued, exactly as it issued it (redacting twice is harmless)."""
        return span in self._issued and span not in self._literals

    def escape(self, span: str) -> str:
        """Our own placeholder passes through; any other placeholder-like text is escaped."""
        with self._lock:
            if self.is_ours(span):
                return span
            if span not in self._literals:
                escape = f"[PRIVATE_{self._allocate('PRIVATE')}]"
                self._literals[span] = escape
                self._known[escape] = span
            escape = self._literals[span]
            self._issued[escape] = span
            return escape

    def issue(self, entity: Entity) -> str:
        """The placeholder for `entity` (allocated on first use), marked as sent."""
        with self._lock:
            placeholder = self._placeholder.get(entity.key)
            if placeholder is None:
                family = entity.family or entity.key
                root, members = self._family_of(family)
                if entity.family or members:
                    self._open_family(family, entity.kind, root, members)
                placeholder = self._placeholder.get(entity.key)
            if placeholder is None:
                placeholder = f"[{entity.kind}_{self._allocate(entity.kind)}]"
                self._placeholder[entity.key] = placeholder
                self._known[placeholder] = entity.text
            self._issued[placeholder] = self._known[placeholder]
            return placeholder

    def used(self, text: str) -> dict[str, str]:
        """The placeholders of this vault that occur in `text` -> their originals, sorted."""
        with self._lock:
            found = {ph for ph in map(canonical, TOKEN_RE.finditer(text)) if ph in self._known}
            return {ph: self._known[ph] for ph in sorted(found)}

    def restore(self, text: str) -> str:
        """Replace the placeholders this vault knows with their originals; leave the rest."""

        def original(match: re.Match[str]) -> str:
            return self._known.get(canonical(match), match.group())

        with self._lock:
            return TOKEN_RE.sub(original, text)

    @property
    def issued(self) -> dict[str, str]:
        """Every placeholder issued so far -> its original."""
        with self._lock:
            return dict(self._issued)

    # -- numbering ---------------------------------------------------------------------------

    def _open_family(self, family: str, kind: str, root: Entity | None, members: Sequence[Entity]) -> None:
        """Give a multi-word name one number for itself and all its parts."""
        if family in self._opened:
            return
        self._opened.add(family)
        kind = root.kind if root is not None else kind
        number = self._allocate(kind)
        if root is not None:
            self._placeholder.setdefault(family, f"[{kind}_{number}]")
            self._known[f"[{kind}_{number}]"] = root.text
        for member in members:
            placeholder = f"[{kind}_{number}_{member.role}]"
            if self._placeholder.setdefault(member.key, placeholder) == placeholder:
                self._known[placeholder] = member.text

    def _allocate(self, kind: str) -> int:
        number = self._last_number.get(kind, 0) + 1
        while (kind, number) in self._reserved:
            number += 1
        self._last_number[kind] = number
        return number


class PlaceholderRestorer:
    """Restores placeholders in streamed text, holding back a '[' that may begin one.

    `guard` is anything with a `restore(text) -> str` (a PrivacyGuard or a PlaceholderVault).
    """

    MAX_PLACEHOLDER = 24  # longer than any placeholder the vault issues

    def __init__(self, guard) -> None:
        self.guard = guard
        self._held = ""

    def feed(self, text: str) -> str:
        """Restore `text` appended to what was held back; a trailing '[' that may begin a placeholder is held back."""
        self._held += text
        start = self._held.rfind("[")
        if start >= 0 and "]" not in self._held[start:] and len(self._held) - start < self.MAX_PLACEHOLDER:
            ready, self._held = self._held[:start], self._held[start:]
        else:
            ready, self._held = self._held, ""
        return self.guard.restore(ready) if ready else ""

    def flush(self) -> str:
        """The held-back rest, restored (call once the stream has ended)."""
        ready, self._held = self._held, ""
        return self.guard.restore(ready) if ready else ""
