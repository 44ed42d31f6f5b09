"""The privacy guard: what it redacts, what it leaves, and how it restores."""

from __future__ import annotations

import random
import re

import pytest

from edge_agent.privacy import PrivacyGuard, Redaction, extract_entities, find_pii

PROFILE = """Name: Miguel Alvarez
Phone: +1 (415) 555-0134
Email: miguel.alvarez@example.com
Address: 221B Baker Street, London NW1 6XE
Employer: Acme Corp
Allergy: penicillin
Born: 12 March 1984
Friends: Zoë Ødegård, 李伟, Дмитрий Петров
"""
NOTES = """Meeting with Priya Sharma on Monday about the budget. Dear Priya, thanks for the notes.
Remember to call Dr. Chen about invoice 48213 before Friday.
Gardening with Priya on Sunday. I love gardening in March.
"""
CONTEXT = [PROFILE, NOTES]

# Spans the guard must never let through, listed by hand (not taken from the guard).
SENSITIVE = [
    "Miguel Alvarez", "Miguel", "Alvarez", "miguel.alvarez@example.com", "221B Baker Street",
    "NW1 6XE", "Acme Corp", "Acme", "penicillin", "12 March 1984", "Zoë Ødegård", "Zoë", "Ødegård",
    "李伟", "Дмитрий Петров", "Дмитрий", "Петров", "Priya Sharma", "Priya", "Sharma", "Chen", "48213",
]
SENSITIVE_DIGITS = ["4155550134", "48213"]


def occurs(span: str, text: str) -> bool:
    """Independent check: `span` as a whole word sequence in `text`, any case, any spacing."""
    words = [re.escape(w) for w in span.split()]
    body = r"\s+".join(words)
    if any(not (ch.isupper() or ch.islower()) and ch.isalpha() for ch in span):
        return re.search(body, text, re.IGNORECASE) is not None
    return re.search(rf"(?<!\w){body}(?!\w)", text, re.IGNORECASE) is not None


def digits_occur(digits: str, text: str) -> bool:
    return digits in re.sub(r"[\s().+-]", "", text)


@pytest.fixture
def guard() -> PrivacyGuard:
    return PrivacyGuard(CONTEXT)


# -- entity extraction ---------------------------------------------------------------------


def test_extraction_keeps_common_words_and_finds_names() -> None:
    texts = {e.text for e in extract_entities(CONTEXT)}
    for word in ["the", "Meeting", "Monday", "Friday", "Sunday", "Dear", "March", "Remember", "Name", "Allergy"]:
        assert word not in texts, word
    for span in ["Miguel Alvarez", "Priya Sharma", "Chen", "Zoë Ødegård", "李伟", "Дмитрий Петров", "48213"]:
        assert span in texts, span


def test_names_in_prose_in_any_script() -> None:
    notes = "Lunch with 李伟 and Zoë Ødegård on Friday. Дмитрий called about the Q3 plan. I met Kwame there."
    texts = {e.text for e in extract_entities([notes])}
    assert {"李伟", "Zoë Ødegård", "Zoë", "Ødegård", "Дмитрий", "Kwame"} <= texts
    assert not texts & {"Lunch", "Friday", "I", "Q3", "There"}


def test_sentence_initial_ordinary_word_is_not_a_name() -> None:
    texts = {e.text for e in extract_entities(["Gardening with Priya today.", "We love gardening."])}
    assert "Gardening" not in texts
    assert "Priya" in texts


def test_profile_values_are_typed_by_their_key() -> None:
    kinds = {e.text: e.kind for e in extract_entities(CONTEXT)}
    assert kinds["penicillin"] == "PRIVATE"
    assert kinds["Acme Corp"] == "ORG"
    assert kinds["Miguel Alvarez"] == "PERSON"
    assert kinds["+1 (415) 555-0134"] == "PHONE"
    assert kinds["miguel.alvarez@example.com"] == "EMAIL"
    assert kinds["12 March 1984"] == "DATE"
    assert kinds["221B Baker Street"] == "ADDRESS"


def test_name_parts_belong_to_their_family() -> None:
    by_text = {e.text: e for e in extract_entities(["Name: Miguel Alvarez"])}
    assert by_text["Miguel"].family == by_text["Alvarez"].family == by_text["Miguel Alvarez"].key
    assert (by_text["Miguel"].role, by_text["Alvarez"].role) == ("FIRST", "LAST")


@pytest.mark.parametrize(
    "text, kind",
    [
        ("write to priya.s@example.org", "EMAIL"),
        ("call +49 30 1234 5678", "PHONE"),
        ("call (212) 555-0199", "PHONE"),
        ("born 1990-02-03", "DATE"),
        ("born on 3 February 1990", "DATE"),
        ("lives at 742 Evergreen Terrace", "ADDRESS"),
        ("IBAN DE89 3704 0044 0532 0130 00", "ID"),
        ("card 4111 1111 1111 1111", "ID"),
        ("SSN 123-45-6789", "ID"),
        ("account 9876543210123", "NUMBER"),
    ],
)
def test_pii_patterns(text: str, kind: str) -> None:
    hits = find_pii(text)
    assert [h.kind for h in hits] == [kind]
    assert text.endswith(hits[0].text)


def test_pii_patterns_leave_ordinary_numbers() -> None:
    assert find_pii("Write 300 words about the 2024 budget, in 3 parts, by 10:30") == []


# -- redaction -----------------------------------------------------------------------------


def test_common_instruction_passes_unchanged(guard: PrivacyGuard) -> None:
    text = "Dear team, the meeting on Monday in March moved. Please write a short, friendly note."
    assert guard.redact(text) == Redaction(text, {})


def test_context_name_in_instruction_is_redacted_and_restored(guard: PrivacyGuard) -> None:
    redaction = guard.redact("Text Priya that the meeting moved to Monday.")
    assert "Priya" not in redaction.text
    assert re.fullmatch(r"Text \[PERSON_\d+_FIRST\] that the meeting moved to Monday\.", redaction.text)
    assert list(redaction.placeholders.values()) == ["Priya"]
    assert guard.restore(redaction.text) == "Text Priya that the meeting moved to Monday."


def test_pii_in_instruction_is_redacted_even_if_not_in_context(guard: PrivacyGuard) -> None:
    text = "Email jo@corp.io, call 212-555-0199, ship to 742 Evergreen Terrace by 2025-01-31."
    redaction = guard.redact(text)
    assert re.fullmatch(
        r"Email \[EMAIL_\d+\], call \[PHONE_\d+\], ship to \[ADDRESS_\d+\] by \[DATE_\d+\]\.", redaction.text
    )
    assert guard.restore(redaction.text) == text
    assert guard.leaks(text) == ["jo@corp.io", "212-555-0199", "742 Evergreen Terrace", "2025-01-31"]


@pytest.mark.parametrize("variant", ["Priya Sharma", "priya  sharma", "PRIYA SHARMA", "Priya\nSharma", "priya\tSHARMA"])
def test_case_and_spacing_variants_share_a_placeholder(guard: PrivacyGuard, variant: str) -> None:
    first = guard.redact("Ask Priya Sharma.").text
    assert guard.redact(f"Ask {variant}.").text == first
    assert guard.restore(first) == "Ask Priya Sharma."


def test_partial_names_keep_their_family_number(guard: PrivacyGuard) -> None:
    text = "Miguel Alvarez wrote. Mr. Alvarez says hi; miguel agrees. ALVAREZ!"
    redaction = guard.redact(text)
    match = re.fullmatch(
        r"\[PERSON_(\d+)\] wrote\. Mr\. \[PERSON_(\d+)_LAST\] says hi; "
        r"\[PERSON_(\d+)_FIRST\] agrees\. \[PERSON_(\d+)_LAST\]!",
        redaction.text,
    )
    assert match and len(set(match.groups())) == 1
    assert guard.restore(redaction.text) == "Miguel Alvarez wrote. Mr. Alvarez says hi; Miguel agrees. Alvarez!"


@pytest.mark.parametrize(
    "variant", ["+1 (415) 555-0134", "415-555-0134", "4155550134", "(415) 555 0134", "+1.415.555.0134"]
)
def test_phone_separator_variants_are_the_same_phone(guard: PrivacyGuard, variant: str) -> None:
    redaction = guard.redact(f"call {variant} now")
    assert re.fullmatch(r"call \[PHONE_1\] now", redaction.text)
    assert redaction.placeholders == {"[PHONE_1]": "+1 (415) 555-0134"}


def test_phone_without_international_prefix_in_context() -> None:
    guard = PrivacyGuard(["Mobile: 020 7946 0958"])
    first = guard.redact("ring 020 7946 0958").text
    assert guard.redact("ring +44 20 7946 0958").text == first == "ring [PHONE_1]"


@pytest.mark.parametrize("variant", ["48213", "48,213", "48 213", "48.213"])
def test_numbers_with_separators(guard: PrivacyGuard, variant: str) -> None:
    assert guard.redact(f"invoice {variant} is late").text == "invoice [NUMBER_1] is late"


def test_non_latin_names(guard: PrivacyGuard) -> None:
    redaction = guard.redact("我和李伟 met ДМИТРИЙ ПЕТРОВ and zoë ødegård; Дмитрий waved.")
    for span in ["李伟", "Дмитрий", "Петров", "ДМИТРИЙ", "zoë", "ødegård"]:
        assert span.casefold() not in redaction.text.casefold()
    restored = guard.restore(redaction.text)
    assert restored == "我和李伟 met Дмитрий Петров and Zoë Ødegård; Дмитрий waved."


def test_decomposed_unicode_matches() -> None:
    guard = PrivacyGuard(["Friend: Zoë Ødegård"])
    decomposed = "Zoe\u0308 \u00d8dega\u030ard"
    assert "Zo" not in guard.redact(f"hi {decomposed}").text


def test_longest_match_wins(guard: PrivacyGuard) -> None:
    # "Priya", "Sharma" and "Priya Sharma" are all known: the full name is one placeholder.
    redaction = guard.redact("Priya Sharma")
    assert re.fullmatch(r"\[PERSON_\d+\]", redaction.text)
    # A PII pattern longer than a known span takes the whole span.
    assert re.fullmatch(r"\[EMAIL_\d+\]", guard.redact("priya.sharma@acme.com").text)


def test_partially_overlapping_matches_are_replaced_together() -> None:
    guard = PrivacyGuard(["Friend: Anna Maria", "Colleague: Maria Lopez"])
    redaction = guard.redact("Say hi to Anna Maria Lopez.")
    assert re.fullmatch(r"Say hi to \[PERSON_\d+\]\.", redaction.text)
    assert guard.restore(redaction.text) == "Say hi to Anna Maria Lopez."


def test_user_typed_placeholder_is_not_confused() -> None:
    guard = PrivacyGuard(CONTEXT)
    text = "Explain what [PERSON_1] and PERSON_2 mean in the export for Priya Sharma."
    redaction = guard.redact(text)
    assert "[PERSON_1]" not in redaction.text and "PERSON_2" not in redaction.text
    person = re.findall(r"\[PERSON_\d+\]", redaction.text)
    assert len(person) == 1 and person[0] not in {"[PERSON_1]", "[PERSON_2]"}
    assert guard.restore(redaction.text) == text
    # Even if the model echoes the user's literal text, restore does not turn it into a name.
    assert guard.restore("[PERSON_1] and PERSON_2") == "[PERSON_1] and PERSON_2"


def test_placeholder_text_in_the_context_is_never_issued() -> None:
    guard = PrivacyGuard(["Template note: replace [PERSON_1] with the name.", "Name: Priya Sharma"])
    assert guard.redact("Priya Sharma").text == "[PERSON_2]"


def test_placeholders_are_stable_across_calls(guard: PrivacyGuard) -> None:
    a = guard.redact("Priya Sharma and Miguel Alvarez").text
    b = guard.redact("Miguel Alvarez, then Priya Sharma").text
    first, second = re.findall(r"\[PERSON_\d+\]", a)
    assert b == f"{second}, then {first}"
    assert guard.mapping == {first: "Priya Sharma", second: "Miguel Alvarez"}


def test_pattern_entities_are_remembered_within_the_request(guard: PrivacyGuard) -> None:
    first = guard.redact("call 212-555-0199").text
    assert guard.redact("or +1 212 555 0199").text == first.replace("call", "or")
    assert guard.leaks("212 555 0199") == ["212-555-0199"]


def test_redaction_lists_only_its_placeholders(guard: PrivacyGuard) -> None:
    guard.redact("Miguel Alvarez")
    redaction = guard.redact("allergic to Penicillin")
    assert redaction.placeholders == {"[PRIVATE_1]": "penicillin"}
    assert set(guard.mapping) == {"[PERSON_1]", "[PRIVATE_1]"}


def test_redacting_twice_changes_nothing(guard: PrivacyGuard) -> None:
    once = guard.redact("Priya Sharma (415) 555-0134, invoice 48213, Dr. Chen").text
    assert guard.redact(once).text == once


def test_empty_and_single_string_context() -> None:
    guard = PrivacyGuard("Name: Priya Sharma")  # a lone string is one text, not characters
    assert guard.redact("").text == ""
    assert guard.redact("Priya").text == "[PERSON_1_FIRST]"


# -- restore -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_output",
    [
        "Dear [PERSON_1],", "Dear PERSON_1,", "Dear [person_1],",
        "Dear [ PERSON_1 ],", "Dear [Person 1],", "Dear Person_1,",
    ],
)
def test_restore_tolerates_what_models_do(guard: PrivacyGuard, model_output: str) -> None:
    assert guard.redact("Priya Sharma").text == "[PERSON_1]"
    assert guard.restore(model_output) == "Dear Priya Sharma,"


def test_restore_leaves_unknown_placeholders_and_ordinary_text(guard: PrivacyGuard) -> None:
    guard.redact("Priya Sharma")
    text = "[PERSON_7] and PERSON_12 and Person 1 and user_id_1 stay."
    assert guard.restore(text) == text


def test_restore_of_family_root_and_parts(guard: PrivacyGuard) -> None:
    assert guard.redact("Mr. Alvarez").text == "Mr. [PERSON_1_LAST]"
    # The model may use the full-name or first-name form of the same family.
    assert guard.restore("[PERSON_1] / [PERSON_1_FIRST] / person_1_last") == "Miguel Alvarez / Miguel / Alvarez"


# -- leaks ---------------------------------------------------------------------------------


def test_leaks_reports_known_spans(guard: PrivacyGuard) -> None:
    assert guard.leaks("the meeting on Monday") == []
    assert guard.leaks("ping priya about 415 555 0134") == ["Priya", "+1 (415) 555-0134"]
    assert guard.leaks(guard.redact("ping priya about 415 555 0134").text) == []
    assert guard.leaks("Priyanka and Chenille are not Priya or Chen") == ["Priya", "Chen"]


# -- property test: random sentences built from the context -----------------------------------

FILLERS = ["please", "write", "a", "note", "to", "about", "the", "meeting", "on", "Monday", "and", "ask",
           "whether", "lunch", "works", "tomorrow", "with", "regards", "Dear", "thanks", "for", "budget"]
PHONE_FORMS = ["+1 (415) 555-0134", "415-555-0134", "4155550134", "(415) 555 0134", "+1 415 555 0134"]
NUMBER_FORMS = ["48213", "48,213", "48 213"]


def _variant(span: str, rng: random.Random) -> str:
    case = rng.choice([str, str.lower, str.upper, str.title])
    spaced = re.sub(" ", lambda _: rng.choice([" ", "  ", "\t"]), span)
    return case(spaced)


def _random_sentence(rng: random.Random, exact: bool) -> str:
    words: list[str] = []
    for _ in range(rng.randint(3, 12)):
        roll = rng.random()
        if roll < 0.55:
            words.append(rng.choice(FILLERS))
        elif roll < 0.8:
            span = rng.choice(SENSITIVE)
            words.append(span if exact else _variant(span, rng))
        elif roll < 0.9:
            words.append(PHONE_FORMS[0] if exact else rng.choice(PHONE_FORMS))
        else:
            words.append(NUMBER_FORMS[0] if exact else rng.choice(NUMBER_FORMS))
        if rng.random() < 0.2:
            words[-1] += rng.choice([",", ".", "!", "'s", ";"])
    return " ".join(words)


def test_property_no_sensitive_span_survives_redaction() -> None:
    rng = random.Random(20240607)
    for _ in range(400):
        guard = PrivacyGuard(CONTEXT)
        sentence = _random_sentence(rng, exact=False)
        redacted = guard.redact(sentence).text
        for span in SENSITIVE:
            assert not occurs(span, redacted), (span, sentence, redacted)
        for digits in SENSITIVE_DIGITS:
            assert not digits_occur(digits, redacted), (digits, sentence, redacted)
        assert guard.leaks(redacted) == []
        for filler in FILLERS:  # ordinary words are never redacted
            if occurs(filler, sentence):
                assert occurs(filler, redacted), (filler, sentence, redacted)


def test_property_restore_inverts_redact_on_canonical_text() -> None:
    rng = random.Random(7)
    guard = PrivacyGuard(CONTEXT)  # one guard for all: placeholders must stay consistent
    for _ in range(300):
        sentence = _random_sentence(rng, exact=True)
        redaction = guard.redact(sentence)
        assert guard.restore(redaction.text) == sentence, redaction.text
        lowered = re.sub(r"\[[A-Z0-9_]+\]", lambda m: m.group().lower(), redaction.text)
        assert guard.restore(lowered) == sentence  # "[person_1]" from a model
        for placeholder, original in redaction.placeholders.items():
            assert guard.mapping[placeholder] == original
