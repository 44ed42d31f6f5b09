"""Rouge-L: the label of Cappy's sampled answers."""

from __future__ import annotations

import pytest

from tools.scorer.rouge import lcs_length, rouge_l, words


def test_words_are_casefolded_and_punctuation_free():
    assert words("Hi, Mr. HOLM! See you at 9:15 am.") == ["hi", "mr", "holm", "see", "you", "at", "9", "15", "am"]
    assert words("Привет, Zoë") == ["привет", "zoë"]


def test_lcs_length_is_a_subsequence_not_a_substring():
    assert lcs_length(list("abcbdab"), list("bdcaba")) == 4
    assert lcs_length([], ["a"]) == 0
    assert lcs_length(["a", "b"], ["a", "b"]) == 2


def test_rouge_l_known_values():
    # 6 words each, LCS "the cat on the mat" = 5: P = R = 5/6
    assert rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    # LCS 2 of 3 candidate words and 2 of 6 reference words: F1 = 2PR/(P+R) = 0.444...
    assert rouge_l("the red cat", "the cat sat on the mat") == pytest.approx(2 * (2 / 3) * (2 / 6) / (2 / 3 + 2 / 6))


def test_rouge_l_extremes():
    assert rouge_l("Same words here.", "same WORDS here") == 1.0
    assert rouge_l("completely different", "nothing shared") == 0.0
    assert rouge_l("", "anything") == 0.0
    assert rouge_l("...", "!!!") == 0.0


def test_rouge_l_rewards_order():
    assert rouge_l("a b c", "c b a") < rouge_l("a b c", "a b c")
    assert rouge_l("a b c", "c b a") == pytest.approx(1 / 3)
