from edge_agent.collab.details import COUNT, DATE, ID, MONEY, NAME, PERCENT, TIME, line_details


def kinds(line: str, notes=()) -> list[tuple[str, str]]:
    return [(d.text, d.kind) for d in line_details(line, notes)]


def test_typed_details_of_a_line() -> None:
    assert kinds("Dinner booked at Zaytoon, 7:30 pm, table for 8, confirmation ZT-88412") == [
        ("Zaytoon", NAME), ("7:30 pm", TIME), ("ZT-88412", ID)]
    assert kinds("I paid the $150 deposit; Leila owes me $75") == [("$150", MONEY), ("Leila", NAME), ("$75", MONEY)]
    assert kinds("Agenda: pricing for the 2025 renewal, discount capped at 8%")[-1] == ("8%", PERCENT)
    assert kinds("Electricity bill RON 312.40 due on the 25th") == [("RON 312.40", MONEY), ("the 25th", DATE)]
    assert kinds("Joaquín built the water-sampling database and ran 40 field surveys")[-1] == ("40 field", COUNT)
    assert ("March 14", DATE) in kinds("Parents visiting from Porto on March 14, staying 5 nights")


def test_a_capital_that_only_starts_the_line_is_not_a_name() -> None:
    assert kinds("Bedroom radiator has been cold since Monday") == []
    notes = ["Son: Kofi, Year 4", "Kofi expected back at school November 10"]
    assert ("Kofi", NAME) in kinds(notes[1], notes)  # capitalized mid-line elsewhere in the notes
    assert kinds("1:1 with director Hannah Vogel on Monday at 11:00") == [("Hannah Vogel", NAME), ("11:00", TIME)]
