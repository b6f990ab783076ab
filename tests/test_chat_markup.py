"""Chat markup never reaches the engine: what is left is what the person typed."""

from __future__ import annotations

import pytest

from index import QuestionError, check_question
from index.retrieval.chat_markup import strip_chat_markup


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("@everyone who is Ed Mullins? <@&123456789012345678>", "who is Ed Mullins?"),
        ("<@123456789012345678> who is the head of the union", "who is the head of the union"),
        ("<@!123456789012345678> hi", "hi"),
        ("what did <#123456789012345678> say", "what did say"),
        ("@here is crime down <:pepe:123456789012345678> <a:wave:98765432109876543>", "is crime down"),
        (
            "**what** did the _mayor_ say about the ~~president~~ ||DOJ||?",
            "what did the mayor say about the president DOJ?",
        ),
        ("who said `soft on crime`", "who said soft on crime"),
        ("> who spoke next", "who spoke next"),
        ("what does https://example.com/story?id=3 say about grants", "what does say about grants"),
        ("see [the story](https://example.com/a) about ICE", "see the story about ICE"),
        ("when was it <t:1700000000:R>", "when was it"),
        ("who is o'neill :thinking:", "who is o'neill"),
        ("what about 10:30 pm", "what about 10:30 pm"),
        ("***who*** won", "who won"),
    ],
)
def test_markup_is_removed_and_words_kept(typed: str, asked: str) -> None:
    assert check_question(typed, 500) == asked


def test_an_email_or_a_handle_is_not_a_mention() -> None:
    assert strip_chat_markup("ask press@doj.gov or @mayor") == "ask press@doj.gov or @mayor"


def test_a_question_that_is_only_markup_is_empty() -> None:
    with pytest.raises(QuestionError, match="empty"):
        check_question("<@123456789012345678> @everyone <:x:1234>", 500)
