"""Answers on the bundled story with the real model: the right sentence first, refusals when
the story is silent, and every quote the source text sliced at its span.

The expected places were read off the story by a person; the engine knows nothing of them.
"""

from __future__ import annotations

import pytest

from index import Engine, Quote
from index.corpus.sentences import split_sentences
from index.errors import QuestionError
from index.types import NOT_IN_STORY as OUTCOME_NOT_IN_STORY

# question -> acceptable (paragraph, sentence index within the paragraph) for the first quote
ANSWERABLE: dict[str, set[tuple[int, int]]] = {
    "How many people did the NYPD lock up in 2016?": {(5, 2)},
    "When did de Blasio and O'Neill hold their press conference?": {(1, 0)},
    "What did the Department of Justice call the city?": {(1, 0)},
    "How did O'Neill feel when he read the DOJ statement?": {(5, 0)},
    "How many gang takedowns did the police carry out in 2016?": {(5, 2)},
    "Who did the mayor invite to say it to New York's face?": {(4, 0)},
    "What did Preet Bharara tweet?": {(9, 0)},
    "What did Melissa Mark-Viverito call Sessions?": {(8, 1)},
    "Who is the head of the NYPD sergeants union?": {(12, 0)},
    "Whose memory did O'Neill say the statement insulted?": {(6, 2)},
    "What did Dan Donovan criticize?": {(10, 0)},
    "What did the DOJ spokesperson say about the city's police?": {(11, 1)},
    "What grant funds are in jeopardy?": {(13, 0)},
    "Whose radio show did Mullins go on?": {(14, 0)},
    "Who do NYPD officers want to cooperate with, according to Mullins?": {(14, 0), (14, 2)},
    "Did the Justice Department back down?": {(1, 1), (11, 0)},
    "Which Republican congressman praised the NYPD?": {(10, 0)},
    "On whose behalf did the mayor say the statement was made?": {(2, 0)},
    "What did O'Neill say about the city in 2017?": {(6, 1)},
    "Who else took offense at the DOJ language?": {(8, 0)},
    "What does Mullins hope the mayor will do?": {(13, 3)},
    "Does the union head think Sessions is right about sanctuary policies?": {(13, 2)},
    "What did de Blasio say about police officers being soft on crime?": {(3, 0)},
    "How did the mayor describe the DOJ statement?": {(2, 0), (1, 1)},  # ¶1: "Both men called the statement an insult"
}

NOT_IN_STORY = [
    "Who won the 2018 World Cup?",
    "What is the capital of France?",
    "How do I bake sourdough bread?",
    "What is the boiling point of water?",
    "Which team won the Super Bowl in 2016?",
    "How tall is Mount Everest?",
    "Who painted the Mona Lisa?",
    "What is the population of Tokyo?",
    "When did the Roman Empire fall?",
    "What is the weather forecast for tomorrow?",
]


def places_in(engine: Engine, quote: Quote) -> set[tuple[int, int]]:
    """Every (paragraph, sentence) a quote covers: adjacent sentences are joined into one quote."""
    text = engine.paragraph_text(quote.file, quote.paragraph)
    assert text is not None
    spans = enumerate(split_sentences(text))
    return {(quote.paragraph, i) for i, (a, b) in spans if a < quote.end and quote.start < b}


@pytest.mark.parametrize("question", sorted(ANSWERABLE))
def test_first_quote_is_the_sentence_that_answers(engine: Engine, question: str) -> None:
    answer = engine.answer(question)
    first = answer.quotes[0]
    assert places_in(engine, first) & ANSWERABLE[question], first.text
    assert first.story.startswith("De Blasio and O'Neill")


def test_most_answerable_questions_are_answered_not_refused(engine: Engine) -> None:
    answered = sum(engine.answer(q).answered for q in ANSWERABLE)
    assert answered >= 0.8 * len(ANSWERABLE)


@pytest.mark.parametrize("question", NOT_IN_STORY)
def test_questions_the_story_does_not_answer_are_refused(engine: Engine, question: str) -> None:
    answer = engine.answer(question)
    assert not answer.answered
    assert answer.confidence < answer.threshold
    assert answer.outcome == OUTCOME_NOT_IN_STORY


def test_every_quote_is_the_paragraph_sliced_at_its_span(engine: Engine) -> None:
    questions = list(ANSWERABLE) + NOT_IN_STORY + ["crime", "ICE", "What?", "Tell me everything about the union"]
    for answer in engine.answer_many(questions, k=5):
        assert not isinstance(answer, QuestionError)
        for quote in answer.quotes:
            paragraph = engine.paragraph_text(quote.file, quote.paragraph)
            assert paragraph is not None
            assert quote.text == paragraph[quote.start : quote.end]
            assert quote.text.strip() == quote.text and quote.text


def test_quotes_do_not_overlap_and_read_best_first_then_in_story_order(engine: Engine) -> None:
    answer = engine.answer("What did O'Neill say?", k=5)
    assert answer.quotes[0].score == max(q.score for q in answer.quotes)
    rest = [(q.file, q.paragraph, q.start) for q in answer.quotes[1:]]
    assert rest == sorted(rest)
    seen: set[tuple[str, int, int]] = set()
    for quote in answer.quotes:
        for offset in range(quote.start, quote.end):
            assert (quote.file, quote.paragraph, offset) not in seen
            seen.add((quote.file, quote.paragraph, offset))


def test_a_follow_up_reads_the_earlier_question(engine: Engine) -> None:
    answer = engine.answer(
        "what about the union?", context="What did the police commissioner say about the DOJ statement?"
    )
    assert answer.quotes[0].paragraph in {12, 13, 14}


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "x" * 501])
def test_questions_that_cannot_be_asked_get_clear_errors(engine: Engine, bad: str) -> None:
    with pytest.raises(QuestionError, match=r"empty|characters long"):
        engine.answer(bad)


def test_answer_many_keeps_order_and_isolates_bad_questions(engine: Engine) -> None:
    results = engine.answer_many(
        ["Who is the head of the NYPD sergeants union?", "  ", "What did Preet Bharara tweet?"]
    )
    assert isinstance(results[1], QuestionError)
    assert results[0].quotes[0].paragraph == 12  # type: ignore[union-attr]
    assert results[2].quotes[0].paragraph == 9  # type: ignore[union-attr]
