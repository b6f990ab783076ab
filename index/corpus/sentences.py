"""Sentence spans within a paragraph, as exact character offsets.

Blingfire's finite-state splitter does the hard part (abbreviations such as U.S., Sgt., Mr.,
initials, quotes ending a sentence); two small fix-ups follow it: a piece that starts in lower
case continues the previous sentence (`"Go!" he said.`), and spans never include the white
space between sentences. Quotes are always `paragraph[start:end]`, never retyped.
"""

from __future__ import annotations

import re

import blingfire

SPLITTER_VERSION = "blingfire-0.1.8+fixups-2"
_OPENERS = "\"'“‘([{«"
_TITLES = "Mr|Mrs|Ms|Mx|Dr|Prof|Sgt|Gen|Gov|Sen|Rep|Lt|Col|Capt|Rev|Det|Insp|Supt|Cmdr|Adm|Hon|Pres|St"
_LOWER_ABBREVIATIONS = ("etc.", "vs.", "approx.", "al.", "cf.", "viz.", "ca.", "no.")
# Blingfire keeps "... died. Mr. Smith spoke." together; a title after a finished word starts anew.
_BEFORE_TITLE = re.compile(rf"(?<=[a-z0-9][.!?])([\"'”’)\]]*)(\s+)(?=(?:{_TITLES})\.\s+[A-Z])")


def _raw_spans(text: str) -> list[tuple[int, int]]:
    if not text.strip():
        return []
    try:
        _, offsets = blingfire.text_to_sentences_and_offsets(text)
    except (UnicodeError, ValueError):
        offsets = []
    spans = [(int(a), int(b)) for a, b in offsets if 0 <= a < b <= len(text)]
    return [piece for a, b in spans for piece in _split_before_titles(text, a, b)] or [(0, len(text))]


def _split_before_titles(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces = []
    for match in _BEFORE_TITLE.finditer(text, start, end):
        cut = match.start(2)
        word_start = text.rfind(" ", start, cut) + 1
        if text[word_start:cut].lower().rstrip("\"'”’)]") in _LOWER_ABBREVIATIONS:
            continue
        pieces.append((start, cut))
        start = match.end(2)
    pieces.append((start, end))
    return pieces


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _continues(text: str, start: int) -> bool:
    """A piece that opens in lower case (after any opening quote) continues a sentence."""
    i = start
    while i < len(text) and text[i] in _OPENERS:
        i += 1
    return i < len(text) and text[i].islower()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans `(start, end)` of the sentences of `text`, in order, covering all its words."""
    spans: list[tuple[int, int]] = []
    for a, b in (_trim(text, *span) for span in _raw_spans(text)):
        if a >= b:
            continue
        if spans and (a < spans[-1][1] or _continues(text, a)):
            spans[-1] = (spans[-1][0], max(b, spans[-1][1]))
        else:
            spans.append((a, b))
    return _cover_gaps(text, spans)


def _cover_gaps(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Make sure no non-space text falls between spans (the splitter may skip odd characters)."""
    if not spans:
        a, b = _trim(text, 0, len(text))
        return [(a, b)] if a < b else []
    covered: list[tuple[int, int]] = []
    cursor = 0
    for a, b in spans:
        start = a
        if text[cursor:a].strip():
            if covered:
                covered[-1] = (covered[-1][0], a)
                covered[-1] = _trim(text, *covered[-1])
            else:
                start = _trim(text, cursor, a)[0]
        covered.append((start, b))
        cursor = b
    if text[cursor:].strip():
        last_a = covered[-1][0]
        covered[-1] = _trim(text, last_a, len(text))
    return covered
