"""Discord markdown for story and user text: escaping, whole-word shortening, safe links, titles.

Pure module (no discord import). Story text is escaped so it shows as written, and shortened
only at word boundaries, ending in "…".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot import limits

ELLIPSIS = "…"

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


def shorten_title(text: str) -> str:
    """A question or story title escaped for an embed title (one line, ≤256, whole words)."""
    return fit_prefix(" ".join(text.split()), limits.TITLE)[0]


def question_from_title(title: str) -> str:
    """The question an answer card was about, read back from its title (for follow-ups)."""
    return unescape_markdown(title).removesuffix(ELLIPSIS).strip()
