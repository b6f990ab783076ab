"""What the bot shows, as plain data with Discord's limits enforced: answers, paragraphs, /story, /help.

Pure module (no discord import at module level, so `storybot ask` stays fast): every builder
returns a `Card` whose `to_dict()` is Discord's embed JSON and whose `to_embed()` imports
discord lazily. Story text is escaped so it shows as written, and shortened only at word
boundaries, ending in "…" (the full paragraph is one click away). The answer cards live in
`bot.cards`, the markdown helpers in `bot.markdown`; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from bot import limits
from bot.cards import (
    ANSWER_COLOR,
    FOOTER_ANSWERED,
    FOOTER_NOT_ANSWERED,
    NOT_ANSWERED_COLOR,
    PARAGRAPH_COLOR,
    UNSURE_COLOR,
    UNSURE_LINE,
    ButtonSpec,
    Card,
    render_answer,
    render_not_answered,
    render_outcome,
    story_lines,
)
from bot.markdown import (
    ELLIPSIS,
    block_quote,
    escape_markdown,
    fit_prefix,
    fit_suffix,
    question_from_title,
    safe_link,
    shorten_title,
    unescape_markdown,
)
from index.types import IndexInfo, StorySummary

__all__ = [
    "ANSWER_COLOR",
    "ELLIPSIS",
    "FOOTER_ANSWERED",
    "FOOTER_NOT_ANSWERED",
    "NOT_ANSWERED_COLOR",
    "PARAGRAPH_COLOR",
    "UNSURE_COLOR",
    "UNSURE_LINE",
    "ButtonSpec",
    "Card",
    "block_quote",
    "escape_markdown",
    "fit_prefix",
    "fit_suffix",
    "question_from_title",
    "render_answer",
    "render_help",
    "render_not_answered",
    "render_outcome",
    "render_paragraph",
    "render_story_info",
    "safe_link",
    "shorten_title",
    "unescape_markdown",
]


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


def render_story_info(info: IndexInfo, own: Collection[str] = ()) -> Card:
    """/story list: the stories, their size, the model, when the index was built, whether it is stale.

    `own`: the files of the server's own stories, listed apart from the shared ones.
    """
    state = {True: "stale — an admin can run `/reindex`", False: "up to date", None: "unknown"}[info.stale]
    fields = (
        ("Stories", str(len(info.stories))),
        ("Paragraphs", str(info.paragraphs)),
        ("Sentences", str(info.sentences)),
        ("Model", fit_prefix(info.model, 200)[0]),
        ("Built", _when(info.built_at)),
        ("Index", state),
    )
    if own:
        mine = [s for s in info.stories if s.file in own]
        shared = [s for s in info.stories if s.file not in own]
        description = f"**This server's stories**\n{story_lines(mine, 1900)}"
        if shared:
            description += f"\n\n**Shared stories** (every server sees them)\n{story_lines(shared, 1500)}"
    else:
        description = story_lines(info.stories, 3500) if info.stories else "No stories yet."
    return Card("What I can answer from", description, "Ask with /ask, a mention or a DM.", ANSWER_COLOR, fields=fields)


def render_help(*, cooldown_seconds: float, log_questions: bool, retention_days: int, max_chars: int) -> Card:
    """/help: every way to ask, follow-ups, what is recorded, and the admin command."""
    recorded = (
        f"Questions, the quotes given and your votes are recorded to improve answers; user ids are stored "
        f"only as a keyed hash{f' and records are deleted after {retention_days} days' if retention_days else ''}."
        if log_questions
        else "Questions are not recorded; only votes on answers are kept, with user ids stored as a keyed hash."
    )
    cooldown = f" One question every {cooldown_seconds:g} s per person." if cooldown_seconds else ""
    description = (
        "I answer questions about the news stories I hold with **verbatim quotes**, each cited "
        "with its story and paragraph. When I'm not sure the story answers exactly, I show the closest "
        "passages and say so; if the stories don't say, I tell you so.\n\n"
        "**Ask**\n"
        "• `/ask question:` — add `private: True` to see the answer alone.\n"
        "• Mention me in a channel: `@storybot who called the statement an insult?`\n"
        "• Send me a direct message.\n"
        "• Right-click (or long-press) a message → Apps → **Ask storybot**.\n\n"
        "**Follow up**\n"
        "Reply to one of my answers (e.g. *what about the union?*) and I read it together with "
        "the earlier questions. Keep the reply's @mention on (the default): without it Discord "
        "does not show me the reply's text.\n\n"
        "**Buttons**\n"
        "**Show ¶N** shows the whole paragraph privately; 👍/👎 tell the host whether the answer helped, and "
        "**This answers it** / **It doesn't** whether the closest passages answered you.\n\n"
        f"**Limits**\nQuestions up to {max_chars} characters.{cooldown}\n\n"
        "**Other commands**\n`/story list` — what I cover here. `/story add` and `/story remove` — server admins "
        "change this server's stories. `/reindex` — admins rebuild the index after the stories change.\n\n"
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
NOT_SERVER_ADMIN_TEXT = (
    "Only this server's admins (Manage Server, or a role the bot's host lists) can change its stories or rebuild its "
    "index. Nothing was changed."
)
NOT_SHARED_ADMIN_TEXT = (
    "Only the admins the bot's host lists can change the shared stories, which every server sees. Nothing was changed."
)
REINDEX_RUNNING_TEXT = "A rebuild is already running — I'll report when it finishes; please try again after that."
REINDEX_STARTED_TEXT = (
    "Rebuilding the index in the background. I keep answering from the current index meanwhile and will report here "
    "when it's done."
)
APOLOGY_TEXT = "Sorry, something went wrong on my side while answering. The host can find the details in the bot's log."


def too_long_text(length: int, limit: int) -> str:
    return f"That question is {length} characters long; I take at most {limit}. Please ask a shorter one."
