"""The allow-list file behind `tandem privacy allow NAME`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from edge_agent.privacy import PrivacyGuard, PrivacySettings, allow, disallow, read_allow_list


def test_allow_and_disallow_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "privacy_allow.txt"
    assert read_allow_list(path) == []
    assert allow("Acme  Corp", path) is True
    assert allow("acme corp", path) is False  # same name, any case or spacing
    assert allow("Kestrel Logistics", path) is True
    assert read_allow_list(path) == ["Acme Corp", "Kestrel Logistics"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert disallow("ACME CORP", path) is True
    assert disallow("Nobody", path) is False
    assert read_allow_list(path) == ["Kestrel Logistics"]
    with pytest.raises(ValueError):
        allow("   ", path)


def test_default_location_is_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    allow("Acme Corp")
    assert (tmp_path / "tandem" / "privacy_allow.txt").read_text().splitlines()[-1] == "Acme Corp"


def test_an_allowed_name_from_the_notes_is_sent_as_is(tmp_path: Path) -> None:
    path = tmp_path / "privacy_allow.txt"
    notes = ["Employer: Acme Corp", "Friend: Priya Sharma"]
    basic = PrivacySettings(recognizer=False, allow_file=str(path))
    assert "Acme" not in PrivacyGuard(notes, basic).redact("Acme Corp is hiring").text
    allow("Acme Corp", path)
    guard = PrivacyGuard(notes, basic)
    assert guard.redact("Acme Corp is hiring, says Priya").text == "Acme Corp is hiring, says [PERSON_1_FIRST]"
    # patterns are never allowed: an email stays private even if listed
    allow("jo@corp.example", path)
    assert "jo@corp.example" not in PrivacyGuard([], basic).redact("mail jo@corp.example").text
