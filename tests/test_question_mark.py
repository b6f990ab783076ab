"""A chat question without a question mark is read as the question it is."""

from __future__ import annotations

import pytest

from index import Engine
from index.retrieval.question_mark import as_question


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("who is paul tuozzolo", "who is paul tuozzolo?"),
        ("Who is Paul Tuozzolo?", "Who is Paul Tuozzolo?"),
        ("who said that?!", "who said that?"),
        ("tell me about the arrests.", "tell me about the arrests?"),
        ("what happened next...", "what happened next?"),
        ("is crime down ", "is crime down?"),
        ("...", "..."),
    ],
)
def test_the_models_read_one_question_mark_at_the_end(typed: str, read: str) -> None:
    assert as_question(typed) == read


def test_a_question_typed_without_its_mark_is_answered_as_with_it(engine: Engine) -> None:
    bare, tidy = engine.answer("who held the press conference"), engine.answer("Who held the press conference?")
    assert bare.question == "who held the press conference"  # the card shows what was typed
    assert [q.paragraph for q in bare.quotes] == [q.paragraph for q in tidy.quotes]
    assert bare.outcome == tidy.outcome
    assert bare.confidence == pytest.approx(tidy.confidence, abs=1e-6)
