"""The answer words are marked only when they can be found with certainty."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.cards import render_answer
from bot.cli_ask import marked_text
from index import Answer, Engine, Quote
from index.retrieval.answer_marks import mark_answer


@pytest.mark.parametrize(
    ("question", "text", "marked"),
    [
        ("When was the treaty signed?", "The treaty was signed in March 1848 in the city.", "March 1848"),
        ("What year did it open?", "It opened in 1901 after a long delay.", "1901"),
        ("In what century was it built?", "It was built in the 12th century by monks.", "12th century"),
    ],
)
def test_one_thing_of_the_asked_kind_is_marked(question: str, text: str, marked: str) -> None:
    span = mark_answer(question, text)
    assert span is not None and text[span[0] : span[1]] == marked


def test_numbers_and_names_are_not_marked_they_are_too_often_wrong() -> None:
    assert mark_answer("How many people were arrested?", "Police arrested 1,000 people in the raids.") is None
    assert mark_answer("Who leads the union?", "The union is led by Ed Mullins, its president.") is None


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("When was the treaty signed?", "It was drafted in 1847 and signed in 1848."),  # two dates: not sure
        ("What did the mayor say?", "The mayor said 2016 was a good year."),  # a "what" question: no kind
        ("How many people did they arrest in 2016?", "In 2016 they arrested many."),  # only what the question names
        ("Who spoke?", "Mullins spoke first."),  # a capital at the start of a quote is no sign of a name
    ],
)
def test_nothing_is_marked_when_unsure(question: str, text: str) -> None:
    assert mark_answer(question, text) is None


QUOTE = Quote("The union is led by Ed Mullins, its president.", "A story", "a.txt", 3, 10, 57, 5.0)
MARKED = replace(QUOTE, answer_start=10 + 20, answer_end=10 + 30)


def test_the_mark_is_bold_in_the_card_and_starred_in_the_cli() -> None:
    answer = Answer("Who leads the union?", (MARKED,), 0.9, 0.5, "h", relevance=1.0, floor=0.3)
    card = render_answer(answer, answer_id="abc123def456")
    assert "**Ed Mullins**" in card.description
    assert marked_text(MARKED) == "The union is led by **Ed Mullins**, its president."
    assert marked_text(QUOTE) == QUOTE.text
    assert MARKED.to_json()["answer_start"] == 30 and QUOTE.to_json()["answer_start"] is None


def test_the_engine_marks_only_answered_questions_and_inside_the_quote(engine: Engine) -> None:
    answer = engine.answer("In what year did O'Neill say the city's crime went down?")
    first = answer.quotes[0]
    assert answer.outcome == "answered" and first.answer_span is not None, first
    assert first.start <= first.answer_start < first.answer_end <= first.end  # type: ignore[operator]
    assert first.text[slice(*first.answer_span)] == "2017"
    assert all(q.answer_span is None for q in answer.quotes[1:])
    off = engine.answer("Who won the 2018 World Cup?")
    assert all(q.answer_span is None for q in off.quotes)
