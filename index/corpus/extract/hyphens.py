"""Joining a paragraph's printed lines, undoing the hyphenation at their ends.

A line that ends in a hyphen is either a word the typesetter hyphenated ("infor-" + "mation")
or a compound that happened to break after its own hyphen ("steam-" + "powered"). The document
itself is the best dictionary: if it spells the word elsewhere, that spelling wins. Otherwise
the hyphen stays when the second half is capitalised or the first has capitals inside it
("Franco-" + "Prussian", "UN-" + "led"), or when both halves are words of three letters or
more that the document uses on their own ("Carolingian-" + "based"); the rest is joined
("Organiza-" + "tion"). A soft hyphen always joins.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HEAD = re.compile(r"([^\W\d_]+)[-‐]$")
_TAIL = re.compile(r"^([^\W\d_]+)")
_DASHES = ("-", "‐", "–", "—", "/")
MIN_COMPOUND_PART = 3


class Vocabulary:
    """How often the document spells each word, whole or as part of a compound, away from the
    words broken at line ends."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.counts: Counter[str] = Counter()
        broken = False  # whether the previous line ended in a broken word
        for line in lines:
            words = line.replace("‐", "-").split()
            if broken and words:
                words = words[1:]
            broken = bool(words) and words[-1].endswith(("-", "\u00ad"))
            if broken:
                words = words[:-1]
            for word in words:
                for match in _WORD.finditer(word):
                    token = match.group().casefold()
                    self.counts[token] += 1
                    if "-" in token:
                        self.counts.update(token.split("-"))

    def count(self, word: str) -> int:
        return self.counts[word.casefold()]


def keeps_hyphen(head: str, tail: str, vocabulary: Vocabulary) -> bool:
    """Whether "head-" at a line's end and "tail" at the next line's start spell "head-tail"."""
    joined, compound = vocabulary.count(head + tail), vocabulary.count(f"{head}-{tail}")
    if joined != compound:
        return compound > joined
    if not tail.islower() or not (head.islower() or head[1:].islower()):
        return True  # "Franco-Prussian", "UN-led": capitals inside a word are not hyphenated
    return all(len(part) >= MIN_COMPOUND_PART and vocabulary.count(part) > 0 for part in (head, tail))


def join_lines(lines: list[str], vocabulary: Vocabulary) -> str:
    """One paragraph from its printed lines (each already single-spaced)."""
    text = ""
    for line in lines:
        if not text:
            text = line
        elif text.endswith("\u00ad"):
            text = text[:-1] + line
        elif (head := _HEAD.search(text)) and (tail := _TAIL.match(line)):
            hyphen = "-" if keeps_hyphen(head.group(1), tail.group(1), vocabulary) else ""
            text = text[:-1] + hyphen + line
        elif text.endswith(_DASHES) and not text[-2:-1].isspace():
            text += line  # "1939-" + "1945", "model—" + "many", "and/" + "or"
        else:
            text += " " + line
    return text
