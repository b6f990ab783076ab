"""A follow-up stands on its own words unless it points back at the earlier question."""

from __future__ import annotations

import pytest

from index.retrieval.follow_up import context_for, leans_on_history


@pytest.mark.parametrize(
    "question", ["what did he say about ICE", "when did they say it", "and the union?", "what about Bharara", "why"]
)
def test_questions_that_point_back(question: str) -> None:
    assert leans_on_history(question)


@pytest.mark.parametrize("question", ["what did the union say?", "how many people were arrested in 2016"])
def test_questions_that_stand_alone(question: str) -> None:
    assert not leans_on_history(question)


def test_a_question_that_stands_alone_ignores_the_history() -> None:
    assert context_for("what did the union say?", ["what did the mayor call the statement"]) is None


def test_a_pronoun_takes_the_latest_question() -> None:
    assert context_for("what did he say about ICE", ["who spoke first", "who is Ed Mullins"]) == "who is Ed Mullins"


def test_a_chain_of_follow_ups_keeps_the_question_it_leans_on() -> None:
    history = ["who is Ed Mullins", "and his members?"]
    assert context_for("what do they want", history) == "who is Ed Mullins and his members?"


def test_what_about_keeps_the_frame_and_drops_the_earlier_names() -> None:
    names = {"melissa", "mark-viverito"}
    got = context_for("what about Bharara", ["what did Melissa Mark-Viverito say"], lambda w: w.lower() in names)
    assert got == "what did say"


def test_no_history_means_no_context() -> None:
    assert context_for("what did he say", []) is None
    assert context_for("what did he say", ["", "  "]) is None
