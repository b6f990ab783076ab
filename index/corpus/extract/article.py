"""What every extractor returns, and the text clean-up they share.

A paragraph is stored on one line and quoted verbatim, so its text is cleaned once, here:
white space of any kind becomes single spaces, and characters a reader cannot see (zero-width
spaces, byte-order marks, soft hyphens, control characters) are dropped, as are the f-ligatures
some PDFs carry as single characters. What remains is exactly what a reader sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
LABEL_MAX_WORDS = 20  # a text shorter than this needs sentence punctuation to count as prose
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’»)\]]*$")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})


@dataclass(frozen=True, slots=True)
class Article:
    """The text and metadata one extractor found in one document."""

    paragraphs: tuple[str, ...]
    title: str | None = None
    source: str | None = None
    date: str | None = None
    author: str | None = None


def clean_text(text: str) -> str:
    """One line of visible text: invisible characters dropped, white space runs made one space."""
    return " ".join(_INVISIBLE.sub("", text).translate(_LIGATURES).split())


def clean_paragraphs(paragraphs: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Cleaned paragraphs, without the ones left empty."""
    return tuple(cleaned for paragraph in paragraphs if (cleaned := clean_text(paragraph)))


def looks_like_label(text: str) -> bool:
    """Short and without a sentence's final punctuation: a heading, a caption's label, a
    timestamp, "Advertisement". Storybot quotes sentences; these are not."""
    return len(text.split()) < LABEL_MAX_WORDS and not _SENTENCE_END.search(text)


def http_url(value: str | None) -> str | None:
    """The value if it is an absolute http(s) URL: a page's metadata may claim anything."""
    if value is None:
        return None
    value = value.strip()
    return value if re.match(r"^https?://[^\s/]+\S*$", value, re.IGNORECASE) else None
