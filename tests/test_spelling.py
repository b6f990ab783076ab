"""Casual questions: shorthand spelled out, the stories' own names spelled right, nothing else touched."""

from __future__ import annotations

import pytest

from index.retrieval.spelling import Speller

STORY = [
    "Mayor de Blasio and NYPD Commissioner O'Neill held a press conference on Friday.",
    "The head of the sergeants union, Ed Mullins, praised Attorney General Jeff Sessions.",
    "Former U.S. Attorney Preet Bharara tweeted. Representative Dan Donovan wrote a statement.",
    "Mullins went on a radio show. He said Mullins and his members want to work with ICE.",
]
ENGLISH = frozenset({"what", "did", "say", "about", "mad", "mark", "made", "sessions", "react", "who", "how", "union"})


@pytest.fixture
def speller() -> Speller:
    return Speller.from_texts(STORY, english=ENGLISH)


@pytest.mark.parametrize(
    ("typed", "repaired"),
    [
        ("what did mullens say abt it", "what did Mullins say about it"),
        ("how did o'neil react", "how did O'Neill react"),
        ("how did oneill react?", "how did O'Neill react?"),
        ("what did deblasio say", "what did de Blasio say"),
        ("what did bharra tweet", "what did Bharara tweet"),
        ("what did donavan write", "what did Donovan write"),
        ("how many ppl r in the nypd", "how many people are in the NYPD"),
    ],
)
def test_misspelled_names_and_shorthand_are_repaired(speller: Speller, typed: str, repaired: str) -> None:
    assert speller.correct(typed) == repaired


@pytest.mark.parametrize(
    "question",
    [
        "why was he mad",  # "mad" is English, never turned into a name
        "what did sessions say",  # a word of the story stays as it is
        "who won the world cup",  # nothing near any name
        "what did Mullins say",
        "",
    ],
)
def test_words_that_are_fine_are_left_alone(speller: Speller, question: str) -> None:
    assert speller.correct(question) == question


def test_names_are_recognised_in_any_case(speller: Speller) -> None:
    assert speller.is_name("mullins") and speller.is_name("Bharara") and speller.is_name("blasio")
    assert not speller.is_name("union")
