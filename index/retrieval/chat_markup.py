"""Chat markup out of a question: what a chat client adds around the words people ask.

A question pasted from a chat arrives with mentions ("<@123>", "<@&456>", "<#789>",
"@everyone"), custom emoji ("<:name:123>"), timestamps ("<t:1700000000:R>"), links and
markdown ("**bold**", "`code`", "||spoiler||", "> quote"). None of it is part of the
question, and all of it pulls the question's vector away from the story, so it goes before
anything else sees the text. What remains is what the person typed, and what a card shows.
"""

from __future__ import annotations

import re

_MENTION = re.compile(r"<(?:@[!&]?|#|/[\w -]+:)\d+>")
_EMOJI = re.compile(r"<a?:\w+:\d+>")
_TIMESTAMP = re.compile(r"<t:-?\d+(?::[tTdDfFR])?>")
_EVERYONE = re.compile(r"(?<!\w)@(?:everyone|here)\b")
_LINK_WITH_TEXT = re.compile(r"\[([^\]]+)\]\(<?https?://[^)\s]+>?\)")
_URL = re.compile(r"<?\bhttps?://[^\s>]+>?")
_CODE_BLOCK = re.compile(r"```(?:[\w+-]*\n)?(.*?)```", re.DOTALL)
_EMPHASIS = re.compile(r"(\*\*\*|\*\*|\*|__|_|~~|\|\||`)(?=\S)(.+?)(?<=\S)\1")
_LINE_PREFIX = re.compile(r"^\s*(?:>>>\s?|>\s|#{1,3}\s|-#\s)", re.MULTILINE)
_SHORTCODE = re.compile(r"(?<!\w):[a-z0-9_+-]{2,}:(?!\w)")


def strip_chat_markup(text: str) -> str:
    """The words of a chat message without mentions, emoji, links or markdown."""
    text = _MENTION.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _TIMESTAMP.sub(" ", text)
    text = _EVERYONE.sub(" ", text)
    text = _LINK_WITH_TEXT.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _CODE_BLOCK.sub(r"\1", text)
    text = _LINE_PREFIX.sub("", text)
    for _ in range(3):  # nested emphasis: ***bold italic***, **_both_**
        stripped = _EMPHASIS.sub(r"\2", text)
        if stripped == text:
            break
        text = stripped
    text = _SHORTCODE.sub(" ", text)
    return text
