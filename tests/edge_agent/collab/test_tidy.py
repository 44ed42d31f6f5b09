from edge_agent.collab.tidy import cut_unfinished, drop_repeats, tidy


def test_a_looping_sentence_is_cut_where_its_clause_comes_back() -> None:
    text = ("I will be away. I am sure of it, and I am confident that you will manage this day, "
            "and I am confident that you will manage this day, and I am confident that you")
    assert drop_repeats(text) == "I will be away. I am sure of it, and I am confident that you will manage this day."


def test_repeated_sentences_are_dropped() -> None:
    text = "Dear Ana,\n\nThe call is at 10:00. Please cover it. The call is at 10:00.\n\nThanks"
    assert drop_repeats(text) == "Dear Ana,\n\nThe call is at 10:00. Please cover it.\n\nThanks"


def test_an_unfinished_last_line_is_cut_but_a_signature_stays() -> None:
    assert cut_unfinished("Hello.\n\nThank you for") == "Hello."
    assert cut_unfinished("Hi. It was fine. And then we") == "Hi. It was fine."
    signed = "Hello.\n\nBest regards,\nKwame Asante"
    assert cut_unfinished(signed) == signed
    assert tidy(signed) == signed


def test_an_answer_that_is_one_unfinished_line_is_kept() -> None:
    # a short token budget cuts the only line: an empty answer would lose the turn
    assert cut_unfinished("Note to self: my locker code is") == "Note to self: my locker code is"
