"""Stable custom ids for the answer buttons, so they keep working after a restart.

Everything a button needs travels in its custom id (Discord allows 100 characters): which
story, paragraph and span it quotes, and fingerprints of the corpus and of the quoted text at
answer time. That makes the buttons independent of the records database (question logging may
be off) and lets "Show paragraph" notice when the story changed since the answer.

Pure module: no discord import, so `storybot ask` stays fast.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

MAX_CUSTOM_ID = 100
_SAFE_FILE = re.compile(r"[A-Za-z0-9._-]{1,40}")
_KEY = r"(?P<key>[A-Za-z0-9._-]{1,40}|~[0-9a-f]{10})"
_SPAN = r"(?P<paragraph>\d{1,6}):(?P<start>\d{1,7}):(?P<end>\d{1,7})"

SHOW_TEMPLATE = re.compile(rf"sb:p:(?P<index>\d):{_KEY}:{_SPAN}:(?P<corpus>[0-9a-f]{{1,8}}):(?P<text>[0-9a-f]{{8}})$")
"""Show paragraph: quote index, story key, paragraph, span, corpus hash prefix, quoted-text hash."""

VOTE_TEMPLATE = re.compile(r"sb:v:(?P<vote>[udyn]):(?P<answer>[0-9a-f]{12}):(?P<corpus>[0-9a-f]{0,8})$")
"""Feedback vote: 👍/👎 on an answer (u, d) or "This answers it"/"It doesn't" on an unsure one (y, n), the
answer id, corpus hash prefix."""


def story_key(file: str) -> str:
    """The file name itself when short and plain, else `~` and 10 hex chars of its sha1."""
    if _SAFE_FILE.fullmatch(file):
        return file
    return "~" + hashlib.sha1(file.encode("utf-8")).hexdigest()[:10]


def resolve_story_key(key: str, files: Iterable[str]) -> str | None:
    """The story file a key names, looked up in the engine's current story list."""
    for file in files:
        if story_key(file) == key:
            return file
    return None


def text_fingerprint(text: str) -> str:
    """8 hex chars identifying a quoted span's text, to detect a changed story."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def corpus_prefix(corpus_hash: str) -> str:
    """At most 8 lowercase hex chars of the corpus hash (anything else is dropped)."""
    return "".join(c for c in corpus_hash.lower() if c in "0123456789abcdef")[:8]


def new_answer_id() -> str:
    """A random 12-hex-char id naming one answer, shared by its vote buttons and its record."""
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class QuoteRef:
    """Where a shown quote came from, as carried by its "Show paragraph" button."""

    index: int  # 0-based position of the quote in the answer (keeps custom ids unique)
    key: str
    paragraph: int
    start: int
    end: int
    corpus: str
    text_hash: str

    @classmethod
    def of(
        cls, index: int, file: str, *, paragraph: int, start: int, end: int, text: str, corpus_hash: str
    ) -> QuoteRef:
        return cls(
            index % 10, story_key(file), paragraph, start, end, corpus_prefix(corpus_hash), text_fingerprint(text)
        )

    def custom_id(self) -> str:
        value = (
            f"sb:p:{self.index}:{self.key}:{self.paragraph}:{self.start}:{self.end}:"
            f"{self.corpus or '0'}:{self.text_hash}"
        )
        assert len(value) <= MAX_CUSTOM_ID and SHOW_TEMPLATE.match(value), value
        return value

    @classmethod
    def parse(cls, custom_id: str) -> QuoteRef | None:
        match = SHOW_TEMPLATE.fullmatch(custom_id)  # as discord.py matches it ($ alone lets a trailing newline in)
        return None if match is None else cls.from_match(match)

    @classmethod
    def from_match(cls, match: re.Match[str]) -> QuoteRef:
        return cls(
            int(match["index"]),
            match["key"],
            int(match["paragraph"]),
            int(match["start"]),
            int(match["end"]),
            match["corpus"],
            match["text"],
        )


@dataclass(frozen=True, slots=True)
class VoteRef:
    """A 👍 or 👎 on one answer, or on an unsure one "This answers it" (up) or "It doesn't"."""

    up: bool
    answer_id: str
    corpus: str
    unsure: bool = False

    @property
    def kind(self) -> str:
        """How the records file the vote: "thumbs" (👍/👎) or "unsure" (whether the closest passages answer it)."""
        return "unsure" if self.unsure else "thumbs"

    def custom_id(self) -> str:
        letter = ("y" if self.up else "n") if self.unsure else ("u" if self.up else "d")
        value = f"sb:v:{letter}:{self.answer_id}:{self.corpus}"
        assert len(value) <= MAX_CUSTOM_ID and VOTE_TEMPLATE.match(value), value
        return value

    @classmethod
    def parse(cls, custom_id: str) -> VoteRef | None:
        match = VOTE_TEMPLATE.fullmatch(custom_id)
        return None if match is None else cls.from_match(match)

    @classmethod
    def from_match(cls, match: re.Match[str]) -> VoteRef:
        vote = match["vote"]
        return cls(vote in "uy", match["answer"], match["corpus"], unsure=vote in "yn")
