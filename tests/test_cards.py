"""Answer cards by outcome, one Sources list, greetings, follow-up histories and `storybot ask` lines (pure)."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import limits
from bot.cards import (
    ANSWERS_IT_LABEL,
    DOES_NOT_LABEL,
    SOURCES_HEADING,
    UNSURE_COLOR,
    UNSURE_LINE,
    cited_stories,
    render_answer,
    render_outcome,
)
from bot.cli_ask import format_answer, read_line
from bot.custom_ids import VoteRef
from bot.greetings import is_greeting
from bot.history import MAX_HISTORY, clean_history
from bot.views import build_view
from index import ANSWERED, NOT_IN_STORY, UNSURE
from index.types import Answer, Quote, StorySummary

URL = "https://news.example/story"


def quote(text: str, paragraph: int = 2, story: str = "A story", file: str = "s.txt", **kw: Any) -> Quote:
    return Quote(text, story, file, paragraph, 0, len(text), 0.9, kw.get("source"))


def answer(*quotes: Quote, outcome: str = ANSWERED, question: str = "who?") -> Answer:
    confidence, relevance = {ANSWERED: (0.9, 0.9), UNSURE: (0.1, 0.9), NOT_IN_STORY: (0.1, 0.0)}[outcome]
    made = Answer(question, quotes, confidence, 0.5, "abcdef0123456789", relevance=relevance, floor=0.3)
    assert made.outcome == outcome
    return made


def payload(card: Any) -> dict[str, Any]:
    view = build_view(card)
    return {"embeds": [card.to_dict()], "components": view.to_components() if view is not None else []}


def test_unsure_card_says_so_shows_the_passages_and_asks_whether_they_answer() -> None:
    card = render_answer(
        answer(quote("Close one.", 3, source=URL), quote("Another.", 7, source=URL), outcome=UNSURE),
        answer_id="0123456789ab",
    )
    assert card.description.startswith(f"*{UNSURE_LINE}*\n\n> Close one.\n— ¶3\n\n> Another.\n— ¶7\n\n")
    assert card.description.endswith(f"{SOURCES_HEADING}\n*A story*, ¶3, ¶7 · [source]({URL})")
    assert card.color == UNSURE_COLOR
    labels = [b.label for b in card.buttons]
    assert labels == ["Show ¶3", "Show ¶7", ANSWERS_IT_LABEL, DOES_NOT_LABEL]
    votes = [VoteRef.parse(b.custom_id) for b in card.buttons[2:]]
    assert votes == [VoteRef(True, "0123456789ab", "abcdef01", True), VoteRef(False, "0123456789ab", "abcdef01", True)]
    assert all(v is not None and v.kind == "unsure" for v in votes)
    components = payload(card)["components"]
    buttons = [c for row in components for c in row["components"]]
    assert [b.get("label") for b in buttons[-2:]] == [ANSWERS_IT_LABEL, DOES_NOT_LABEL]
    assert not limits.message_violations(payload(card))


def test_answered_card_keeps_thumbs_and_has_no_unsure_line() -> None:
    card = render_answer(answer(quote("Yes.")), answer_id="0123456789ab")
    assert UNSURE_LINE not in card.description
    votes = [VoteRef.parse(b.custom_id) for b in card.buttons if b.custom_id.startswith("sb:v:")]
    assert [(v.up, v.unsure) for v in votes if v is not None] == [(True, False), (False, False)]


def test_not_in_story_goes_to_the_doesnt_answer_card() -> None:
    stories = [StorySummary("A story", "s.txt", 3, 9)]
    card = render_outcome(answer(quote("Far off."), outcome=NOT_IN_STORY), answer_id="0123456789ab", stories=stories)
    assert "doesn't answer" in card.description and not card.buttons and "Far off" not in card.description


def test_each_story_is_cited_once_in_one_sources_list_with_markers() -> None:
    quotes = (
        quote("Best.", 14, source=URL),
        quote("Other story.", 2, story="Second *story*", file="b.txt"),
        quote("Earlier.", 12, source=URL),
        quote("Same paragraph again.", 14, source=URL),
    )
    card = render_answer(answer(*quotes), answer_id="0123456789ab")
    text = card.description
    assert text.count(SOURCES_HEADING) == 1 and text.count("*A story*") == 1 and text.count("source](") == 1
    assert text.endswith(f"{SOURCES_HEADING}\n[1] *A story*, ¶12, ¶14 · [source]({URL})\n[2] *Second \\*story\\**, ¶2")
    markers = re.findall(r"^— (.*)$", text, re.M)
    assert markers == ["[1] ¶14", "[2] ¶2", "[1] ¶12", "[1] ¶14"]  # in the engine's order, one per quote
    assert [b.label for b in card.buttons if b.label] == ["Show [1] ¶14", "Show [2] ¶2", "Show [1] ¶12"]  # once each
    assert [s.paragraphs for s in cited_stories(quotes)] == [(12, 14), (2,)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=2000), st.integers(1, 999_999), st.integers(0, 9)),
        min_size=1,
        max_size=10,
    ),
    st.text(min_size=1, max_size=400),
    st.sampled_from([ANSWERED, UNSURE]),
)
def test_any_card_with_many_stories_fits_discord(quotes: list[tuple[str, int, int]], title: str, outcome: str) -> None:
    made = [
        quote(text, paragraph, story=f"{title} {n}", file=f"{n}.txt", source="https://x.example/" + "a" * 480)
        for text, paragraph, n in quotes
    ]
    card = render_answer(answer(*made, outcome=outcome, question=title), answer_id="0123456789ab")
    assert not limits.message_violations(payload(card)), limits.message_violations(payload(card))
    assert card.description.count(SOURCES_HEADING) == 1


def test_greetings_get_help_and_questions_do_not() -> None:
    for text in ("hi", "Hello!", "hey storybot", "help", "help?", "?", "👋", "what can you do?", "good morning"):
        assert is_greeting(text), text
    for text in ("who is ed mullins", "why", "hi, what did the mayor say?", "helpers?", "what happened"):
        assert not is_greeting(text), text


def test_a_history_keeps_the_latest_questions_each_on_one_line() -> None:
    assert clean_history([]) == []
    assert clean_history(["  who is\ned mullins  ", "", "  "]) == ["who is ed mullins"]
    history = ["first?", "second?", "third?", "fourth?"]
    assert clean_history(history) == history[-MAX_HISTORY:]


def test_stream_lines_plain_json_and_malformed() -> None:
    assert read_line("who is ed mullins").question == "who is ed mullins"
    line = read_line(json.dumps({"question": "what did he say?", "history": ["who is he?"]}))
    assert (line.question, line.history, line.follow_up, line.error) == (
        "what did he say?",
        ("who is he?",),
        True,
        None,
    )
    for bad, why in (
        ('{"question": "x"', "not a valid JSON object"),
        ('{"history": []}', '"question"'),
        ('{"question": "x", "history": "y"}', '"history"'),
        ('{"question": "x", "history": [1]}', '"history"'),
    ):
        error = read_line(bad).error
        assert error is not None and why in error and "\n" not in error


def test_readable_answer_says_the_outcome_and_lists_sources_once() -> None:
    two = (quote("Best.", 14, source=URL), quote("Earlier.", 12, source=URL))
    text = format_answer(answer(*two))
    assert text.splitlines()[:2] == ["Q: who?", "Outcome: answered"]
    assert "  “Best.”  ¶14" in text and "  “Earlier.”  ¶12" in text
    assert text.endswith(f"Sources:\n  A story, ¶12, ¶14 <{URL}>") and text.count("A story") == 1
    unsure = format_answer(answer(*two, outcome=UNSURE))
    assert f"Outcome: unsure. {UNSURE_LINE}" in unsure and "“Best.”" in unsure
    missing = format_answer(answer(*two, outcome=NOT_IN_STORY))
    assert "Outcome: not in the story" in missing and "does not say" in missing and "Best." not in missing
