from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.corpus.sentences import split_sentences


def texts(paragraph: str) -> list[str]:
    return [paragraph[a:b] for a, b in split_sentences(paragraph)]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (
            "Former U.S. Attorney Preet Bharara tweeted. He was fired.",
            ["Former U.S. Attorney Preet Bharara tweeted.", "He was fired."],
        ),
        ("Sgt. Paul Tuozzolo died. Mr. Smith spoke.", ["Sgt. Paul Tuozzolo died.", "Mr. Smith spoke."]),
        (
            '"The results speak for themselves. We\'ve shown you," he said. Then he left.',
            ['"The results speak for themselves.', "We've shown you,\" he said.", "Then he left."],
        ),
        ("He called it “outrageous.” The DOJ replied.", ["He called it “outrageous.”", "The DOJ replied."]),
        ('"Stop!" he shouted. Nobody did.', ['"Stop!" he shouted.', "Nobody did."]),
        ("(It was late.) They met at 5 p.m. on Friday.", ["(It was late.)", "They met at 5 p.m. on Friday."]),
        ("No final stop", ["No final stop"]),
    ],
)
def test_sentences_split_where_a_reader_would(paragraph: str, expected: list[str]) -> None:
    assert texts(paragraph) == expected


def test_spans_are_exact_offsets_with_non_ascii_text() -> None:
    paragraph = "Café “déjà vu.” 😀 Then he left. Ünïcode stays."
    for a, b in split_sentences(paragraph):
        assert paragraph[a:b] == paragraph[a:b].strip()
    assert texts(paragraph)[-1] == "Ünïcode stays."


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_spans_are_ordered_trimmed_and_cover_every_word(paragraph: str) -> None:
    spans = split_sentences(paragraph)
    cursor = 0
    for a, b in spans:
        assert cursor <= a < b <= len(paragraph)
        assert paragraph[cursor:a].strip() == ""
        assert not paragraph[a].isspace() and not paragraph[b - 1].isspace()
        cursor = b
    assert paragraph[cursor:].strip() == ""
