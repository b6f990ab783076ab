"""Fuzzing the renderer with hostile text: arbitrary Unicode, control and zero-width characters,
right-to-left marks, combining marks, emoji, markdown, mention syntax and very long lines.

Invariants, for every card the bot can build: the whole message (embed and buttons) is within
Discord's limits; every quote shown is the quote verbatim, or a whole-word prefix of it ending
in "…"; no mention syntax (<@id>, <@&id>, <#id>) survives unescaped; text that can ping
(message content) never carries user or story text, and the bot sends with no mentions allowed.

STORYBOT_FUZZ_EXAMPLES scales the runs (default small; e.g. 5000 for a long fuzz).
"""

from __future__ import annotations

import os
import re
from typing import Any

import discord
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot import limits, render
from bot.client import StorybotBot
from bot.core import NO_MENTIONS
from bot.render import (
    ELLIPSIS,
    Card,
    question_from_title,
    render_answer,
    render_help,
    render_not_answered,
    render_paragraph,
    render_story_info,
    shorten_title,
    unescape_markdown,
)
from bot.settings import parse_settings
from bot.views import build_view
from index.types import Answer, IndexInfo, Quote, StorySummary

EXAMPLES = int(os.environ.get("STORYBOT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

NASTY = st.sampled_from(
    [
        "\u200b",
        "\u200c",
        "\u200d",
        "\u2060",
        "\ufeff",
        "\u202e",
        "\u202d",
        "\u2066",
        "\u2069",
        "\u061c",
        "\x07",
        "\x1b[31m",
        "\u0301",
        "\u0651",
        "a\u0300\u0301\u0302\u0303",
        "\u2028",
        "\u2029",
        "\t",
        "\xa0",
        "\u3000",
        "👩‍👩‍👧",
        "🏳️‍🌈",
        "🇺🇳",
        "مرحبا بالعالم",
        "שלום",
        "ﷺ",
        "𝕳𝖊𝖑𝖑𝖔",
        "Ǆ",
        "ﬃ",
        "@everyone",
        "@here",
        "<@123456789012345678>",
        "<@!123456789012345678>",
        "<@&123456789012345678>",
        "<#123456789012345678>",
        "<t:1:R>",
        "</ask:1>",
        "<:emoji:123>",
        "<a:e:1>",
        "**",
        "__",
        "~~",
        "||",
        "`",
        "```",
        "> ",
        ">>> ",
        "# ",
        "- ",
        "1. ",
        "[x](https://evil.example)",
        "\\",
        "\\<",
        "https://example.org/a_b*c",
        "http://x.y/(z)",
        "U.S.",
        "...",
        "?!",
        "“",
        "”",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=30), NASTY), max_size=30).map("".join)
LONG = st.builds(lambda word, n: (word + " ") * n, st.text(min_size=1, max_size=12), st.integers(1, 800))
LINE = st.one_of(TEXT, LONG).map(lambda t: t.replace("\n", " ").replace("\r", " ").strip()).filter(bool)
"""Story text as the loader gives it: no newline inside a paragraph, stripped, not empty."""
URL = st.one_of(st.none(), st.just("https://example.org/story"), TEXT, st.just("https://x.example/" + "a" * 600))

MENTION = re.compile(r"<(@[!&]?|#|/|a?:)")


def unescaped(text: str, pattern: re.Pattern[str] = MENTION) -> list[str]:
    """Matches of `pattern` not preceded by an odd run of backslashes (i.e. live markdown)."""
    found = []
    for match in pattern.finditer(text):
        slashes = len(text[: match.start()]) - len(text[: match.start()].rstrip("\\"))
        if slashes % 2 == 0:
            found.append(match.group())
    return found


def find_unescaped(text: str, token: str, start: int = 0) -> int:
    """Index of the first `token` at or after `start` that is not backslash-escaped, else -1."""
    at = text.find(token, start)
    while at != -1:
        slashes = at - len(text[:at].rstrip("\\"))
        if slashes % 2 == 0:
            return at
        at = text.find(token, at + 1)
    return -1


def card_texts(card: Card) -> list[str]:
    return [card.title, card.description, card.footer, *(part for field in card.fields for part in field)]


def payload(card: Card) -> dict[str, Any]:
    view = build_view(card)
    return {"embeds": [card.to_dict()], "components": view.to_components() if view is not None else []}


def check_card(card: Card) -> None:
    problems = limits.message_violations(payload(card))
    assert not problems, problems
    for text in card_texts(card):
        assert not unescaped(text), (unescaped(text), text[:200])
    assert card.to_embed()  # discord.py accepts it


def shown_quotes(description: str) -> list[str]:
    return [line[2:] for line in description.split("\n") if line.startswith("> ")]


def check_verbatim(shown: str, text: str) -> None:
    """`shown` is `text` escaped, or a whole-word prefix of it escaped plus "…"."""
    if unescape_markdown(shown) == text:
        return
    assert shown.endswith(ELLIPSIS), (shown[:80], text[:80])
    prefix = unescape_markdown(shown[: -len(ELLIPSIS)])
    assert text.startswith(prefix), (prefix[:80], text[:80])
    assert prefix == "" or (prefix[-1:].strip() and text[len(prefix)].isspace()), "cut inside a word"


def quote_of(text: str, story: str, source: str | None, paragraph: int) -> Quote:
    return Quote(text, story, "story.txt", paragraph, 0, len(text), 0.5, source)


@FUZZ
@given(
    texts=st.lists(LINE, min_size=1, max_size=10),
    question=TEXT.filter(str.strip),
    story=LINE,
    source=URL,
    paragraph=st.integers(1, 999_999),
)
def test_any_answer_card_is_within_limits_verbatim_and_inert(
    texts: list[str], question: str, story: str, source: str | None, paragraph: int
) -> None:
    answer = Answer(question, tuple(quote_of(t, story, source, paragraph) for t in texts), 0.9, 0.5, "0123abcd" * 8)
    card = render_answer(answer, answer_id="0123456789ab")
    check_card(card)
    shown = shown_quotes(card.description)
    assert len(shown) == len(texts)
    for line, text in zip(shown, texts):
        check_verbatim(line, text)


@FUZZ
@given(question=TEXT.filter(str.strip), titles=st.lists(LINE, max_size=40), source=URL)
def test_any_not_answered_card_is_within_limits_and_inert(question: str, titles: list[str], source: str | None) -> None:
    stories = [StorySummary(t, f"{n}.txt", n + 1, n * 3, source) for n, t in enumerate(titles)]
    card = render_not_answered(Answer(question, (), 0.1, 0.5, "abc"), stories)
    check_card(card)


@FUZZ
@given(
    text=LINE,
    cut=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
    title=LINE,
    source=URL,
    paragraph=st.integers(1, 999_999),
    note=st.one_of(st.none(), st.just(render.APOLOGY_TEXT)),
)
def test_any_paragraph_card_is_within_limits_with_the_quote_in_bold(
    text: str, cut: tuple[int, int], title: str, source: str | None, paragraph: int, note: str | None
) -> None:
    start, end = sorted(min(c, len(text)) for c in cut)
    card = render_paragraph(
        StorySummary(title, "s.txt", 3, 9, source), paragraph, text, start=start, end=end, note=note
    )
    check_card(card)
    span = text[start:end]
    if span.strip():
        opening = find_unescaped(card.description, "**")
        closing = find_unescaped(card.description, "**", opening + 2)
        assert 0 <= opening < closing
        check_verbatim(card.description[opening + 2 : closing], span)


@FUZZ
@given(
    titles=st.lists(LINE, max_size=60),
    model=TEXT,
    built_at=st.one_of(st.just("2024-05-01T10:00:00+00:00"), TEXT),
    source=URL,
    stale=st.sampled_from([True, False, None]),
)
def test_any_story_info_card_is_within_limits_and_inert(
    titles: list[str], model: str, built_at: str, source: str | None, stale: bool | None
) -> None:
    stories = tuple(StorySummary(t, f"{n}.txt", n, n * 2, source) for n, t in enumerate(titles))
    info = IndexInfo("/x", model, 384, 1, "abc", built_at, stories, 10, 20, "flat", stale)
    card = render_story_info(info)
    assume(
        all(v for _, v in card.fields)
    )  # Discord refuses an empty field value (an empty model name is not a real index)
    check_card(card)
    for text in card_texts(card):  # the only live <…> is the Built timestamp
        assert all(m == "<t:" for m in unescaped(text, re.compile(r"<[^\\\s]{0,2}"))), text[:200]


@FUZZ
@given(question=TEXT)
def test_a_question_reads_back_from_its_title(question: str) -> None:
    cleaned = " ".join(question.split())
    title = shorten_title(question)
    assert len(title) <= limits.TITLE and not unescaped(title)
    if not title.endswith(ELLIPSIS) and not cleaned.endswith(ELLIPSIS):
        assert question_from_title(title) == cleaned


@FUZZ
@given(
    cooldown=st.floats(0, 3600),
    retry=st.floats(0, 3600),
    retention=st.integers(0, 36500),
    max_chars=st.integers(20, 4000),
    length=st.integers(0, 10**6),
    log_questions=st.booleans(),
)
def test_short_replies_and_help_fit_and_carry_no_user_text(
    cooldown: float, retry: float, retention: int, max_chars: int, length: int, log_questions: bool
) -> None:
    check_card(
        render_help(
            cooldown_seconds=cooldown, log_questions=log_questions, retention_days=retention, max_chars=max_chars
        )
    )
    contents = [
        render.cooldown_text(retry),
        render.too_long_text(length, max_chars),
        render.BUSY_TEXT,
        render.NOT_READY_TEXT,
        render.EMPTY_TEXT,
        render.NOT_ADMIN_TEXT,
        render.REINDEX_RUNNING_TEXT,
        render.REINDEX_STARTED_TEXT,
        render.APOLOGY_TEXT,
    ]
    for content in contents:  # message content is the only place a mention could ping
        assert 0 < len(content) <= limits.CONTENT
        assert "@" not in content and "<" not in content


def test_the_bot_allows_no_mentions_by_default() -> None:
    bot = StorybotBot(settings=parse_settings({}), engine_factory=None, records_factory=None)
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == NO_MENTIONS.to_dict()
    assert NO_MENTIONS.to_dict() == discord.AllowedMentions.none().to_dict() == {"parse": []}
