"""Answer cards: the three outcomes of a question as embeds, quotes first and one Sources list.

`answered`: the quotes that answer it. `unsure`: the closest passages under a plain warning, with
"This answers it" / "It doesn't" buttons. `not_in_story`: the story doesn't answer that, and what
the stories cover. Quotes keep the engine's order (the best first, the rest in story order); each
carries a short marker (¶5, or [2] ¶5 when several stories are quoted) pointing into the one
Sources list at the end, where each story is cited once with its paragraphs and its link.

Pure module: no discord import at module level (`storybot ask` formats its Sources from here too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import limits
from bot.custom_ids import QuoteRef, VoteRef, corpus_prefix
from bot.markdown import block_quote, escape_markdown, fit_prefix, safe_link, shorten_title
from index.types import NOT_IN_STORY, UNSURE, Answer, Quote, StorySummary

if TYPE_CHECKING:
    import discord

ANSWER_COLOR = 0x5865F2
UNSURE_COLOR = 0xFAA61A
NOT_ANSWERED_COLOR = 0x99AAB5
PARAGRAPH_COLOR = 0x3BA55C
FOOTER_ANSWERED = "Quotes are verbatim from the story. Reply to this message to ask a follow-up."
FOOTER_NOT_ANSWERED = "I answer only with verbatim quotes. Reply to this message to ask a follow-up."
UNSURE_LINE = "The story may not answer this exactly — here are the closest passages."
ANSWERS_IT_LABEL = "This answers it"
DOES_NOT_LABEL = "It doesn't"
SOURCES_HEADING = "**Sources**"
MAX_SHOW_BUTTONS = 10


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """A button as plain data; `bot.views` turns it into a persistent discord.ui item."""

    custom_id: str
    label: str | None = None  # None: a 👍/👎 button, shown as the emoji its custom id implies


@dataclass(frozen=True, slots=True)
class Card:
    """One embed (plus its buttons), already within Discord's limits."""

    title: str
    description: str
    footer: str = ""
    color: int = ANSWER_COLOR
    url: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[ButtonSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "rich",
            "title": self.title,
            "description": self.description,
            "color": self.color,
        }
        if self.footer:
            data["footer"] = {"text": self.footer}
        if self.url:
            data["url"] = self.url
        if self.fields:
            data["fields"] = [{"name": n, "value": v, "inline": True} for n, v in self.fields]
        return data

    def to_embed(self) -> discord.Embed:
        import discord

        return discord.Embed.from_dict(self.to_dict())


# -- citations --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CitedStory:
    """One story an answer quotes, with the paragraphs it quotes (ascending)."""

    title: str
    file: str
    source: str | None
    paragraphs: tuple[int, ...]


def cited_stories(quotes: Sequence[Quote]) -> list[CitedStory]:
    """Each quoted story once, in the order the quotes first cite it."""
    found: dict[str, tuple[Quote, set[int]]] = {}
    for quote in quotes:
        found.setdefault(quote.file, (quote, set()))[1].add(quote.paragraph)
    return [CitedStory(q.story, file, q.source, tuple(sorted(ps))) for file, (q, ps) in found.items()]


def marker(quote: Quote, stories: Sequence[CitedStory]) -> str:
    """The short pointer into the Sources list: "¶5", or "[2] ¶5" when several stories are quoted."""
    if len(stories) < 2:
        return f"¶{quote.paragraph}"
    number = next((n for n, s in enumerate(stories, 1) if s.file == quote.file), 0)
    return f"[{number}] ¶{quote.paragraph}"


def paragraph_list(paragraphs: Sequence[int]) -> str:
    return ", ".join(f"¶{p}" for p in paragraphs)


def _sources_lines(stories: Sequence[CitedStory], title_chars: int, links: bool) -> list[str]:
    lines = []
    for n, story in enumerate(stories, 1):
        title = fit_prefix(" ".join(story.title.split()), title_chars)[0]
        link = safe_link(story.source) if links else None
        number = f"[{n}] " if len(stories) > 1 else ""
        cited = f"{number}*{title}*, {paragraph_list(story.paragraphs)}"
        lines.append(cited + (f" · [source]({link})" if link else ""))
    return lines


def sources_block(stories: Sequence[CitedStory], budget: int) -> str:
    """ "**Sources**" and one line per story, within `budget` (shorter titles, then no links, if need be)."""
    if not stories:
        return ""
    for title_chars, links in ((200, True), (80, True), (80, False), (30, False), (1, False)):
        block = "\n".join([SOURCES_HEADING, *_sources_lines(stories, title_chars, links)])
        if len(block) <= budget:
            return block
    return fit_prefix(block, max(budget, 0), lambda text: text)[0]


# -- cards ------------------------------------------------------------------------------------


def _quote_render(text: str) -> str:
    return block_quote(escape_markdown(text))


def _marked_render(span: tuple[int, int] | None) -> Callable[[str], str]:
    """Render a quote (or a prefix of it) with its answer words in bold, when they fit in it."""

    def render(text: str) -> str:
        if span is None or span[1] > len(text) or span[0] >= span[1]:
            return _quote_render(text)
        a, b = span
        escaped = escape_markdown(text[:a]) + "**" + escape_markdown(text[a:b]) + "**" + escape_markdown(text[b:])
        return block_quote(escaped)

    return render


def _show_buttons(answer: Answer, stories: Sequence[CitedStory]) -> list[ButtonSpec]:
    """One "Show ¶N" button per quoted paragraph (its first quote in bold), at most ten."""
    buttons: list[ButtonSpec] = []
    seen: set[tuple[str, int]] = set()
    for i, q in enumerate(answer.quotes):
        if (q.file, q.paragraph) in seen or len(buttons) == MAX_SHOW_BUTTONS:
            continue
        seen.add((q.file, q.paragraph))
        ref = QuoteRef.of(
            i, q.file, paragraph=q.paragraph, start=q.start, end=q.end, text=q.text, corpus_hash=answer.corpus_hash
        )
        buttons.append(ButtonSpec(ref.custom_id(), label=f"Show {marker(q, stories)}"))
    return buttons


def _vote_buttons(answer: Answer, answer_id: str, unsure: bool) -> list[ButtonSpec]:
    corpus = corpus_prefix(answer.corpus_hash)
    up, down = VoteRef(True, answer_id, corpus, unsure=unsure), VoteRef(False, answer_id, corpus, unsure=unsure)
    if unsure:
        return [ButtonSpec(up.custom_id(), ANSWERS_IT_LABEL), ButtonSpec(down.custom_id(), DOES_NOT_LABEL)]
    return [ButtonSpec(up.custom_id()), ButtonSpec(down.custom_id())]


def render_answer(answer: Answer, *, answer_id: str, description_limit: int = limits.DESCRIPTION) -> Card:
    """The quotes, each verbatim as a block quote with its marker, then one Sources list, and buttons.

    An `unsure` answer says first that the story may not answer exactly, and asks whether it does.
    """
    unsure = answer.outcome == UNSURE
    title = shorten_title(answer.question)
    quotes = answer.quotes
    stories = cited_stories(quotes)
    head = f"*{UNSURE_LINE}*" + ("\n\n" if quotes else "") if unsure else ""
    budget = min(description_limit, limits.EMBED_TOTAL - len(title) - len(FOOTER_ANSWERED)) - len(head)
    sources = sources_block(stories, budget // 3)
    markers = [f"— {marker(q, stories)}" for q in quotes]
    available = budget - len(sources) - 2 - sum(len(m) + 1 for m in markers) - 2 * (len(quotes) - 1)
    shown: dict[int, str] = {}
    renders = [_marked_render(q.answer_span) for q in quotes]
    order = sorted(range(len(quotes)), key=lambda i: len(renders[i](quotes[i].text)))
    for position, i in enumerate(order):
        share = available // (len(order) - position)
        shown[i] = fit_prefix(quotes[i].text, share, renders[i])[0]
        available -= len(shown[i])
    body = "\n\n".join(f"{shown[i]}\n{markers[i]}" for i in range(len(quotes)))
    description = head + body + (f"\n\n{sources}" if sources else "")
    buttons = [*_show_buttons(answer, stories), *_vote_buttons(answer, answer_id, unsure)]
    color = UNSURE_COLOR if unsure else ANSWER_COLOR
    return Card(title, description, FOOTER_ANSWERED, color, buttons=tuple(buttons))


def story_lines(stories: Sequence[StorySummary], budget: int) -> str:
    """One bullet per story, ending in "…and N more" when the list does not fit."""
    lines: list[str] = []
    used = 0
    for n, story in enumerate(stories):
        title = fit_prefix(" ".join(story.title.split()), 200)[0]
        link = safe_link(story.source)
        line = f"• *{title}* — {story.paragraphs} paragraphs" + (f" · [source]({link})" if link else "")
        reserve = len(f"• …and {len(stories)} more") + 1 if n < len(stories) - 1 else 0
        if used + len(line) + 1 + reserve > budget:
            lines.append(f"• …and {len(stories) - n} more")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def render_not_answered(answer: Answer, stories: Sequence[StorySummary]) -> Card:
    """The story does not answer this: say so plainly, say what is covered, point to /story list."""
    title = shorten_title(answer.question)
    head = (
        "**The story doesn't answer that.** I reply only with verbatim quotes, and nothing in "
        "the stories I have answers this closely enough.\n\n"
    )
    tail = "\n\nUse `/story list` to see what I cover, or ask about something the stories report."
    covers = "**What I cover:**\n" + story_lines(stories, 3000) if stories else "I have no stories yet."
    return Card(title, head + covers + tail, FOOTER_NOT_ANSWERED, NOT_ANSWERED_COLOR)


def render_outcome(answer: Answer, *, answer_id: str, stories: Sequence[StorySummary]) -> Card:
    """The card for an answer's outcome: answered or unsure quotes, or the "doesn't answer" card."""
    if answer.outcome == NOT_IN_STORY:
        return render_not_answered(answer, stories)
    return render_answer(answer, answer_id=answer_id)
