"""What the bot shows, as plain data with Discord's limits enforced: answers, paragraphs, /story.

Pure module (no discord import at module level, so `storybot ask` stays fast): every builder
returns a `Card` whose `to_dict()` is Discord's embed JSON and whose `to_embed()` imports
discord lazily. Story text is escaped so it shows as written, and shortened only at word
boundaries, ending in "…" (the full paragraph is one click away).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import limits
from bot.custom_ids import QuoteRef, VoteRef, corpus_prefix
from index.types import Answer, IndexInfo, Quote, StorySummary

if TYPE_CHECKING:
    import discord

ELLIPSIS = "…"
ANSWER_COLOR = 0x5865F2
NOT_ANSWERED_COLOR = 0x99AAB5
PARAGRAPH_COLOR = 0x3BA55C
FOOTER_ANSWERED = "Quotes are verbatim from the story. Reply to this message to ask a follow-up."
FOOTER_NOT_ANSWERED = "I answer only with verbatim quotes. Reply to this message to ask a follow-up."

# URLs are left alone (markdown inside them is not interpreted, and escaping would break links).
_URL = re.compile(r"https?://[^\s<>\\]*[^\s<>\\.,:;\"')\]]")
_ANYWHERE = re.compile(r"([\\*_~`|<>\[\]])")
_LINE_START = re.compile(r"(?m)^([ \t]*)([#\-+]|\d+\.)")
_UNESCAPE = re.compile(r"\\([\\*_~`|<>\[\]#\-+.])")
_LINK_OK = re.compile(r"https?://[^\s()<>\[\]\\]{1,500}")


def _escape_plain(text: str) -> str:
    text = _ANYWHERE.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: m[1] + "\\" + m[2] if not m[2][0].isdigit() else m[1] + m[2][:-1] + "\\.", text)


def escape_markdown(text: str) -> str:
    """Backslash-escape Discord markdown so `text` shows as written; `unescape_markdown` undoes it."""
    out, pos = [], 0
    for match in _URL.finditer(text):
        out.append(_escape_plain(text[pos : match.start()]))
        out.append(match.group())
        pos = match.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def unescape_markdown(text: str) -> str:
    """The text `escape_markdown` was given (used to read a question back from an answer's title)."""
    return _UNESCAPE.sub(r"\1", text)


def block_quote(escaped: str) -> str:
    """Markdown block quote of already-escaped text, line by line."""
    return "\n".join("> " + line for line in escaped.split("\n"))


def _word_ends(text: str) -> list[int]:
    return [i for i in range(1, len(text)) if not text[i - 1].isspace() and text[i].isspace()]


def _word_starts(text: str) -> list[int]:
    return [i for i in range(1, len(text)) if not text[i].isspace() and text[i - 1].isspace()]


def fit_prefix(text: str, limit: int, render: Callable[[str], str] = escape_markdown) -> tuple[str, bool]:
    """`render(text)` if it fits in `limit`, else the longest whole-word prefix rendered plus "…".

    Returns (rendered, shortened). Never cuts inside a word: if not even the first word fits,
    the result is "…" alone.
    """
    full = render(text)
    if len(full) <= limit:
        return full, False
    ends = _word_ends(text)
    best, lo, hi = None, 0, len(ends) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = render(text[: ends[mid]]) + ELLIPSIS
        if len(candidate) <= limit:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return (best if best is not None else ELLIPSIS[: max(limit, 0)]), True


def fit_suffix(text: str, limit: int, render: Callable[[str], str] = escape_markdown) -> tuple[str, bool]:
    """Like `fit_prefix` from the other end: "…" plus the longest whole-word suffix."""
    full = render(text)
    if len(full) <= limit:
        return full, False
    starts = _word_starts(text)
    best, lo, hi = None, 0, len(starts) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = ELLIPSIS + render(text[starts[mid] :])
        if len(candidate) <= limit:
            best, hi = candidate, mid - 1
        else:
            lo = mid + 1
    return (best if best is not None else ELLIPSIS[: max(limit, 0)]), True


def safe_link(url: str | None) -> str | None:
    """The URL if it can go into a markdown link unchanged, else None."""
    if url and _LINK_OK.fullmatch(url.strip()):
        return url.strip()
    return None


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """A button as plain data; `bot.views` turns it into a persistent discord.ui item."""

    custom_id: str
    label: str | None = None  # "Show paragraph" buttons; vote buttons show the emoji their custom id implies


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


def shorten_title(text: str) -> str:
    """A question or story title escaped for an embed title (one line, ≤256, whole words)."""
    return fit_prefix(" ".join(text.split()), limits.TITLE)[0]


def question_from_title(title: str) -> str:
    """The question an answer card was about, read back from its title (for follow-ups)."""
    return unescape_markdown(title).removesuffix(ELLIPSIS).strip()


def _citation(quote: Quote, number: int | None) -> str:
    title = fit_prefix(" ".join(quote.story.split()), 200)[0]
    label = "—" if number is None else f"**[{number}]**"
    line = f"{label} *{title}*, ¶{quote.paragraph}"
    link = safe_link(quote.source)
    return line + (f" · [source]({link})" if link else "")


def _quote_render(text: str) -> str:
    return block_quote(escape_markdown(text))


def render_answer(answer: Answer, *, answer_id: str, description_limit: int = limits.DESCRIPTION) -> Card:
    """An answered question: each quote verbatim as a block quote with its citation, and buttons."""
    title = shorten_title(answer.question)
    quotes = answer.quotes
    numbered = len(quotes) > 1
    citations = [_citation(q, i + 1 if numbered else None) for i, q in enumerate(quotes)]
    budget = min(description_limit, limits.EMBED_TOTAL - len(title) - len(FOOTER_ANSWERED))
    available = budget - sum(len(c) + 1 for c in citations) - 2 * (len(quotes) - 1)
    shown: dict[int, str] = {}
    order = sorted(range(len(quotes)), key=lambda i: len(_quote_render(quotes[i].text)))
    for position, i in enumerate(order):
        share = available // (len(order) - position)
        shown[i] = fit_prefix(quotes[i].text, share, _quote_render)[0]
        available -= len(shown[i])
    description = "\n\n".join(f"{shown[i]}\n{citations[i]}" for i in range(len(quotes)))
    corpus = corpus_prefix(answer.corpus_hash)
    buttons = [
        ButtonSpec(
            QuoteRef.of(
                i, q.file, paragraph=q.paragraph, start=q.start, end=q.end, text=q.text, corpus_hash=answer.corpus_hash
            ).custom_id(),
            label=f"Show paragraph {i + 1}" if numbered else "Show paragraph",
        )
        for i, q in enumerate(quotes[:10])
    ]
    buttons.append(ButtonSpec(VoteRef(True, answer_id, corpus).custom_id()))
    buttons.append(ButtonSpec(VoteRef(False, answer_id, corpus).custom_id()))
    return Card(title, description, FOOTER_ANSWERED, ANSWER_COLOR, buttons=tuple(buttons))


def _story_lines(stories: Sequence[StorySummary], budget: int) -> str:
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
    """The story does not answer this: say so plainly, say what is covered, point to /story."""
    title = shorten_title(answer.question)
    head = (
        "**The story doesn't answer that.** I reply only with verbatim quotes, and nothing in "
        "the stories I have answers this closely enough.\n\n"
    )
    tail = "\n\nUse `/story` to see what I cover, or ask about something the stories report."
    covers = "**What I cover:**\n" + _story_lines(stories, 3000) if stories else "I have no stories yet."
    return Card(title, head + covers + tail, FOOTER_NOT_ANSWERED, NOT_ANSWERED_COLOR)


def render_paragraph(
    story: StorySummary, paragraph: int, text: str, *, start: int, end: int, note: str | None = None
) -> Card:
    """A whole paragraph with the quoted span in bold, windowed at word boundaries if too long."""
    head = f"*{note}*\n\n" if note else ""
    budget = limits.DESCRIPTION - len(head)
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    before, span, after = text[:start], text[start:end], text[end:]
    if not span.strip():
        body = fit_prefix(text, budget)[0]
    else:
        bold, _ = fit_prefix(span, budget - 4)
        bold = f"**{bold}**"
        room = budget - len(bold)
        left, _ = fit_suffix(before, room // 2)
        right, _ = fit_prefix(after, room - len(left))
        body = left + bold + right
    title = fit_prefix(f"{' '.join(story.title.split())} — ¶{paragraph}", limits.TITLE)[0]
    return Card(
        title,
        head + body,
        "Verbatim from the story; the quoted part is in bold.",
        PARAGRAPH_COLOR,
        safe_link(story.source),
    )


def _when(built_at: str) -> str:
    try:
        moment = datetime.fromisoformat(built_at)
    except ValueError:
        return escape_markdown(built_at) or "unknown"
    return f"<t:{int(moment.timestamp())}:R>"


def render_story_info(info: IndexInfo) -> Card:
    """/story: the stories, their size, the model, when the index was built, whether it is stale."""
    state = {True: "stale — an admin can run `/reindex`", False: "up to date", None: "unknown"}[info.stale]
    fields = (
        ("Stories", str(len(info.stories))),
        ("Paragraphs", str(info.paragraphs)),
        ("Sentences", str(info.sentences)),
        ("Model", fit_prefix(info.model, 200)[0]),
        ("Built", _when(info.built_at)),
        ("Index", state),
    )
    description = _story_lines(info.stories, 3500) if info.stories else "No stories yet."
    return Card("What I can answer from", description, "Ask with /ask, a mention or a DM.", ANSWER_COLOR, fields=fields)


def render_help(*, cooldown_seconds: float, log_questions: bool, retention_days: int, max_chars: int) -> Card:
    """/help: every way to ask, follow-ups, what is recorded, and the admin command."""
    recorded = (
        f"Questions, the quotes given and 👍/👎 are recorded to improve answers; user ids are stored "
        f"only as a keyed hash{f' and records are deleted after {retention_days} days' if retention_days else ''}."
        if log_questions
        else "Questions are not recorded; only 👍/👎 votes are kept, with user ids stored as a keyed hash."
    )
    cooldown = f" One question every {cooldown_seconds:g} s per person." if cooldown_seconds else ""
    description = (
        "I answer questions about the news stories I hold with **verbatim quotes**, each cited "
        "with its story and paragraph. If the stories don't say, I tell you so.\n\n"
        "**Ask**\n"
        "• `/ask question:` — add `private: True` to see the answer alone.\n"
        "• Mention me in a channel: `@storybot who called the statement an insult?`\n"
        "• Send me a direct message.\n"
        "• Right-click (or long-press) a message → Apps → **Ask storybot**.\n\n"
        "**Follow up**\n"
        "Reply to one of my answers (e.g. *what about the union?*) and I read it together with "
        "the earlier question. Keep the reply's @mention on (the default): without it Discord "
        "does not show me the reply's text.\n\n"
        "**Buttons**\n"
        "**Show paragraph** shows the whole paragraph privately; 👍/👎 tell the host whether the answer helped.\n\n"
        f"**Limits**\nQuestions up to {max_chars} characters.{cooldown}\n\n"
        "**Other commands**\n`/story` — what I cover. `/reindex` — server admins rebuild the index after the stories "
        "change.\n\n"
        f"**Privacy**\n{recorded}"
    )
    return Card("How to ask storybot", description, "Quotes are verbatim from the story.", ANSWER_COLOR)


# Short replies (plain content; the client allows no mentions, so none of them can ping).


def cooldown_text(retry_after: float) -> str:
    return f"You're asking quickly — try again in {max(1, round(retry_after + 0.49))} s."


BUSY_TEXT = "I'm busy answering other questions right now — please try again in a moment."
NOT_READY_TEXT = "I'm still loading the stories — please try again in a moment."
SHUTTING_DOWN_TEXT = "I'm restarting — please ask again in a minute."
EMPTY_TEXT = "Ask me a question about the story, e.g. `/ask question: who called the statement an insult?`"
NOT_ADMIN_TEXT = (
    "Only the bot's admins can rebuild the index (Manage Server on the host's server, or an admin user/role)."
)
REINDEX_RUNNING_TEXT = "A rebuild is already running — I'll report when it finishes; please try again after that."
REINDEX_STARTED_TEXT = (
    "Rebuilding the index in the background. I keep answering from the current index meanwhile and will report here "
    "when it's done."
)
APOLOGY_TEXT = "Sorry, something went wrong on my side while answering. The host can find the details in the bot's log."


def too_long_text(length: int, limit: int) -> str:
    return f"That question is {length} characters long; I take at most {limit}. Please ask a shorter one."
