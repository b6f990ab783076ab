"""Pure rendering: escaping, word-boundary shortening, Discord limits, answer and paragraph cards."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import limits
from bot.custom_ids import QuoteRef, VoteRef
from bot.render import (
    ELLIPSIS,
    block_quote,
    escape_markdown,
    fit_prefix,
    fit_suffix,
    question_from_title,
    render_answer,
    render_help,
    render_not_answered,
    render_paragraph,
    render_story_info,
    safe_link,
    shorten_title,
    unescape_markdown,
)
from index.types import Answer, IndexInfo, Quote, StorySummary

text_st = st.text(alphabet=st.sampled_from(list("ab c*_~`|>#-+[]()<@\\.1\n:/ph")), max_size=300)


def quote(text: str, **kw: object) -> Quote:
    values: dict[str, object] = dict(
        story="A story", file="s.txt", paragraph=2, start=0, end=len(text), score=0.9, source=None
    )
    values.update(kw)
    return Quote(text, **values)  # type: ignore[arg-type]


def answer(*quotes: Quote, question: str = "who?", confidence: float = 0.9) -> Answer:
    return Answer(question, quotes, confidence, 0.5, "abcdef0123456789")


def test_escape_makes_markdown_literal() -> None:
    assert (
        escape_markdown("**bold** _it_ `code` ~~s~~ ||spoil||")
        == r"\*\*bold\*\* \_it\_ \`code\` \~\~s\~\~ \|\|spoil\|\|"
    )
    assert escape_markdown("# Title\n- item\n1. first") == "\\# Title\n\\- item\n1\\. first"
    assert escape_markdown("<@123> [x](y)") == r"\<@123\> \[x\](y)"
    assert escape_markdown("a - b 2.5") == "a - b 2.5"  # only line starts make lists


def test_escape_leaves_urls_alone() -> None:
    assert escape_markdown("see https://ex.com/a_b*c now") == "see https://ex.com/a_b*c now"


@given(text_st)
def test_unescape_inverts_escape(text: str) -> None:
    assert unescape_markdown(escape_markdown(text)) == text


@given(text_st, st.integers(min_value=0, max_value=400))
def test_fit_prefix_respects_limit_and_words(text: str, limit: int) -> None:
    shown, short = fit_prefix(text, limit)
    assert len(shown) <= limit
    if not short:
        assert shown == escape_markdown(text)
    elif shown != ELLIPSIS[:limit]:
        kept = unescape_markdown(shown.removesuffix(ELLIPSIS))
        assert text.startswith(kept)
        assert text[len(kept)].isspace()  # cut at a word boundary, never mid-word
        assert shown.endswith(ELLIPSIS)


@given(text_st, st.integers(min_value=0, max_value=400))
def test_fit_suffix_respects_limit_and_words(text: str, limit: int) -> None:
    shown, short = fit_suffix(text, limit)
    assert len(shown) <= limit
    if short and shown != ELLIPSIS[:limit]:
        kept = unescape_markdown(shown.removeprefix(ELLIPSIS))
        assert text.endswith(kept)
        assert text[len(text) - len(kept) - 1].isspace()


def test_block_quote_every_line() -> None:
    assert block_quote("a\nb") == "> a\n> b"


def test_safe_link() -> None:
    assert safe_link("https://ex.com/a?b=1") == "https://ex.com/a?b=1"
    assert safe_link("javascript:alert(1)") is None
    assert safe_link("https://ex.com/a) [x](y") is None
    assert safe_link(None) is None


def test_answer_card_quotes_verbatim_with_citation_and_buttons() -> None:
    q = quote('He said "soft on crime" is *outrageous*.', source="https://news.example/story")
    card = render_answer(answer(q, question="What did he say?"), answer_id="0123456789ab")
    assert card.title == "What did he say?"
    assert card.description.startswith('> He said "soft on crime" is \\*outrageous\\*.\n')
    assert card.description.endswith("\n— ¶2\n\n**Sources**\n*A story*, ¶2 · [source](https://news.example/story)")
    assert "verbatim" in card.footer
    ids = [b.custom_id for b in card.buttons]
    ref = QuoteRef.parse(ids[0])
    assert ref is not None and (ref.key, ref.paragraph, ref.start, ref.end) == ("s.txt", 2, 0, len(q.text))
    assert card.buttons[0].label == "Show ¶2"
    assert VoteRef.parse(ids[1]) == VoteRef(True, "0123456789ab", "abcdef01")
    assert VoteRef.parse(ids[2]) == VoteRef(False, "0123456789ab", "abcdef01")
    assert not limits.message_violations({"embeds": [card.to_dict()]})


def test_answer_card_numbers_several_quotes() -> None:
    card = render_answer(answer(quote("One."), quote("Two.", paragraph=5)), answer_id="0123456789ab")
    assert card.description == "> One.\n— ¶2\n\n> Two.\n— ¶5\n\n**Sources**\n*A story*, ¶2, ¶5"
    assert [b.label for b in card.buttons[:2]] == ["Show ¶2", "Show ¶5"]


def test_long_quotes_shortened_at_word_boundary_within_limits() -> None:
    long = " ".join(f"word{i}" for i in range(2000))
    card = render_answer(answer(quote(long), quote("Short one."), quote(long)), answer_id="0123456789ab")
    data = card.to_dict()
    assert not limits.embed_violations(data), limits.embed_violations(data)
    assert "> Short one.\n" in card.description  # short quotes are never cut to make room
    for block in re.findall(r"^> .*$", card.description, re.M):
        body = block[2:]
        if body.endswith(ELLIPSIS):
            assert body[:-1].split(" ")[-1] in {f"word{i}" for i in range(2000)}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=3000), min_size=1, max_size=10),
    st.text(min_size=1, max_size=600),
    st.text(min_size=1, max_size=400),
)
def test_any_answer_fits_discord_limits(texts: list[str], question: str, title: str) -> None:
    quotes = [quote(t, story=title, source="https://x.example/" + "a" * 200) for t in texts]
    card = render_answer(answer(*quotes, question=question), answer_id="0123456789ab")
    payload = {
        "embeds": [card.to_dict()],
        "components": [{"components": [{"custom_id": b.custom_id, "label": b.label}]} for b in card.buttons[:5]],
    }
    assert not limits.message_violations(payload)


def test_title_round_trips_the_question() -> None:
    question = "what did *O'Neill* say about _gangs_?"
    assert question_from_title(shorten_title(question)) == question
    long = "why " * 200
    title = shorten_title(long)
    assert len(title) <= limits.TITLE and title.endswith(ELLIPSIS)
    assert long.startswith(question_from_title(title))


def test_not_answered_says_so_and_lists_stories() -> None:
    stories = [StorySummary(f"Story {i}", f"{i}.txt", 3, 9) for i in range(500)]
    card = render_not_answered(answer(quote("x"), confidence=0.1, question="Who won the cup?"), stories)
    assert "doesn't answer" in card.description and "/story" in card.description
    assert "*Story 0*" in card.description and "more" in card.description
    assert not card.buttons
    assert not limits.embed_violations(card.to_dict())


def test_paragraph_bolds_the_quote() -> None:
    text = "First sentence. The quoted *part* here. Last one."
    start = text.index("The")
    end = text.index("here.") + 5
    card = render_paragraph(StorySummary("T", "t.txt", 3, 9, "https://ex.com"), 3, text, start=start, end=end)
    assert card.description == "First sentence. **The quoted \\*part\\* here.** Last one."
    assert card.title == "T — ¶3" and card.url == "https://ex.com"


def test_long_paragraph_windows_around_the_quote() -> None:
    before = " ".join(["before"] * 2000)
    after = " ".join(["after"] * 2000)
    text = f"{before} THE QUOTE. {after}"
    start = text.index("THE")
    card = render_paragraph(
        StorySummary("T", "t.txt", 1, 1), 1, text, start=start, end=start + len("THE QUOTE."), note="note"
    )
    assert len(card.description) <= limits.DESCRIPTION
    assert "**THE QUOTE.**" in card.description
    assert card.description.startswith("*note*\n\n…before") and card.description.endswith("after…")


def test_story_info_and_help_fit() -> None:
    info = IndexInfo(
        "p",
        "model",
        384,
        1,
        "abc",
        "2024-01-02T03:04:05+00:00",
        (StorySummary("S", "s.txt", 4, 20),),
        4,
        20,
        "flat",
        False,
    )
    card = render_story_info(info)
    assert dict(card.fields)["Built"] == "<t:1704164645:R>" and dict(card.fields)["Index"] == "up to date"
    assert not limits.embed_violations(card.to_dict())
    help_card = render_help(cooldown_seconds=5, log_questions=True, retention_days=90, max_chars=500)
    assert "follow" in help_card.description.lower() and "mention" in help_card.description.lower()
    assert not limits.embed_violations(help_card.to_dict())
