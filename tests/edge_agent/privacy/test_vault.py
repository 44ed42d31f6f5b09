"""The placeholder vault on its own: numbering, families, escaping, streaming restore."""

from __future__ import annotations

from edge_agent.privacy import PlaceholderRestorer, PlaceholderVault, PrivacyGuard
from edge_agent.privacy.entities import Entity


def test_same_entity_same_placeholder_and_kinds_count_separately() -> None:
    vault = PlaceholderVault()
    priya, acme = Entity("Priya", "PERSON"), Entity("Acme", "ORG")
    assert vault.issue(priya) == "[PERSON_1]"
    assert vault.issue(acme) == "[ORG_1]"
    assert vault.issue(Entity("priya", "PERSON")) == "[PERSON_1]"  # same key
    assert vault.issue(Entity("Chen", "PERSON")) == "[PERSON_2]"
    assert vault.issued == {"[PERSON_1]": "Priya", "[ORG_1]": "Acme", "[PERSON_2]": "Chen"}


def test_family_members_share_the_number() -> None:
    root = Entity("Miguel Alvarez", "PERSON")
    members = (Entity("Miguel", "PERSON", root.key, "FIRST"), Entity("Alvarez", "PERSON", root.key, "LAST"))
    vault = PlaceholderVault(lambda key: (root, members) if key == root.key else (None, ()))
    assert vault.issue(members[1]) == "[PERSON_1_LAST]"
    assert vault.issue(root) == "[PERSON_1]"
    assert vault.restore("[PERSON_1_FIRST] / person_1") == "Miguel / Miguel Alvarez"


def test_placeholder_like_user_text_is_escaped_and_its_number_reserved() -> None:
    vault = PlaceholderVault()
    vault.reserve("see [PERSON_1]")
    escape = vault.escape("[PERSON_1]")
    assert escape == "[PRIVATE_1]"
    assert vault.issue(Entity("Priya", "PERSON")) == "[PERSON_2]"
    assert vault.restore(escape) == "[PERSON_1]"
    assert vault.escape("[PERSON_2]") == "[PERSON_2]"  # our own passes through


def test_restorer_holds_a_split_placeholder() -> None:
    guard = PrivacyGuard(["Name: Priya Sharma"])
    assert guard.redact("Priya Sharma").text == "[PERSON_1]"
    restorer = PlaceholderRestorer(guard)
    pieces = ["Dear [PER", "SON_", "1],", " thanks"]
    out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert out == "Dear Priya Sharma, thanks"
    assert restorer.feed("a [ that never closes" + "x" * 30) .startswith("a [")


def test_restorer_works_on_a_vault_too() -> None:
    vault = PlaceholderVault()
    vault.issue(Entity("Priya", "PERSON"))
    restorer = PlaceholderRestorer(vault)
    assert restorer.feed("[PERSON_1") == ""
    assert restorer.feed("] ok") + restorer.flush() == "Priya ok"
