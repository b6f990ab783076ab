"""Hostile and broken input at the engine: arbitrary bytes and text never crash it, every
quote is still the source sliced at its span, and errors name the problem.

Set STORYBOT_FUZZ_EXAMPLES (e.g. 5000) for a longer fuzz run; CI runs the short version.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import Corpus, Engine, Story, load_corpus
from index.corpus.stories import parse_story
from index.errors import CorpusError, QuestionError
from index.retrieval.compose import MAX_QUOTE_CHARS
from tests.doubles import HashEmbedder

EXAMPLES = int(os.environ.get("STORYBOT_FUZZ_EXAMPLES", "200"))

NASTY = st.sampled_from(
    [
        "\u200b",
        "\u200d",
        "\u202e",
        "\u2066",
        "\ufeff",
        "\x00",
        "\x07",
        "\r",
        "\u2028",
        "\u0301",
        "\u0651",
        "👩‍👩‍👧",
        "🏳️‍🌈",
        "مرحبا",
        "שלום",
        "ﷺ",
        "𝕳𝖊𝖑𝖑𝖔",
        "@everyone",
        "<@123456789012345678>",
        "**",
        "`",
        "> ",
        "U.S.",
        "Sgt.",
        "“",
        "”",
        "...",
        "?!",
        "\t",
        " ",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=30), NASTY), max_size=40).map("".join)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from(["a.txt", "b.md"]))
def test_any_bytes_either_load_or_fail_with_a_corpus_error(data: bytes, name: str) -> None:
    try:
        story = parse_story(data, name)
    except CorpusError as exc:
        assert str(exc).startswith(f"{name}: ")
        return
    decoded = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    assert story.paragraphs
    for paragraph in story.paragraphs:
        assert paragraph and paragraph == paragraph.strip()
        if name.endswith(".txt"):
            assert paragraph in decoded


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_any_text_story_indexes_and_answers_with_sliced_quotes(paragraphs: list[str]) -> None:
    kept = tuple(p.strip() for p in paragraphs if p.strip())
    if not kept:
        return
    engine = Engine.from_corpus(Corpus((Story("Fuzz", "fuzz.txt", kept),)), HashEmbedder())
    for question in ["what happened?", kept[0][:50] or "x", "@everyone who?"]:
        try:
            answer = engine.answer(question, k=5)
        except QuestionError:
            continue
        for quote in answer.quotes:
            assert quote.text == kept[quote.paragraph - 1][quote.start : quote.end]
            assert quote.text


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(TEXT)
def test_any_question_gets_an_answer_or_a_question_error(question: str) -> None:
    engine = _fuzz_engine()
    try:
        answer = engine.answer(question)
    except QuestionError as exc:
        assert "empty" in str(exc) or "characters long" in str(exc)
        return
    assert 0.0 <= answer.confidence <= 1.0
    for quote in answer.quotes:
        assert quote.text == engine.paragraph_text(quote.file, quote.paragraph)[quote.start : quote.end]  # type: ignore[index]


_ENGINE: list[Engine] = []


def _fuzz_engine() -> Engine:
    if not _ENGINE:
        from tests.helpers import BUNDLED_CORPUS

        _ENGINE.append(Engine.from_corpus(load_corpus(BUNDLED_CORPUS), HashEmbedder()))
    return _ENGINE[0]


def test_binary_file_in_the_corpus_is_named(tmp_path: Path) -> None:
    (tmp_path / "photo.txt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CorpusError, match=r"^photo\.txt: not UTF-8"):
        load_corpus(tmp_path)


def test_very_long_line_is_one_paragraph_with_many_sentences() -> None:
    line = "The council met again. " * 5000
    story = parse_story(line.encode(), "long.txt")
    engine = Engine.from_corpus(Corpus((story,)), HashEmbedder())
    assert engine.retriever.size == 5000
    answer = engine.answer("when did the council meet?")
    first = answer.quotes[0].text
    assert first.startswith("The council met again.") and len(first) <= MAX_QUOTE_CHARS  # sentences, not the line


def test_unreadable_corpus_folder_is_named(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0)
    try:
        with pytest.raises(CorpusError, match="cannot read"):
            load_corpus(folder)
    finally:
        folder.chmod(0o755)
