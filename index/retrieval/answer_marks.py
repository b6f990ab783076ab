"""The answer words of a quote, marked only when they can be found with certainty.

A wrong mark is worse than none: a reader's eye goes to it first. So a quote gets a mark only
when the question asks for a kind of thing that can be recognised reliably (a date for
"when", "what year") and the quote holds exactly one thing of that kind that the question
does not already name. Anything less certain (two dates, a "what" question) stays unmarked.
"""

from __future__ import annotations

import re

from index.retrieval.lexical import words
from index.retrieval.qtypes import QType, question_type

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_UNITS = (
    "%|percent|per cent|million|billion|trillion|thousand|hundred|km|kilometres|kilometers|miles|metres|meters|"
    "feet|ft|kg|tonnes|tons|pounds|dollars|euros|years|months|weeks|days|hours|minutes|people|members|votes"
)
_NUMBER = re.compile(rf"(?:[$£€¥])?\d[\d,]*(?:\.\d+)?(?:\s?(?:{_UNITS})\b)?")
_DATE = re.compile(
    rf"\b(?:(?:early |late |mid-)?(?:{_MONTHS})(?: \d{{1,2}})?,? )?(?:1[0-9]{{3}}|20[0-9]{{2}})s?\b"
    rf"|\b(?:{_MONTHS}) \d{{1,2}}\b|\b\d{{1,2}}(?:st|nd|rd|th)? century\b"
)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:(?:de|van|von|of|la|le|da|di) )?[A-Z][a-z'’]+)*")
PATTERNS: dict[QType, re.Pattern[str]] = {QType.DATE: _DATE}
"""The kinds marked: dates only. On SQuAD 1.1 dev a lone number or name in the first quote was
too often not the answer to mark; their patterns stay here (`NUMBER_PATTERN`, `NAME_PATTERN`)
to be measured again with `storybot eval`'s `marked` and `mark_precision` figures."""
NUMBER_PATTERN, NAME_PATTERN = _NUMBER, _NAME


def mark_answer(question: str, text: str) -> tuple[int, int] | None:
    """(start, end) of the answer words within `text`, or None when they are not certain."""
    pattern = PATTERNS.get(question_type(question))
    if pattern is None:
        return None
    asked = set(words(question))
    found = []
    for match in pattern.finditer(text):
        if match.start() == 0 and pattern is _NAME:
            continue  # a capital at the start of a quote is no sign of a name
        said = set(words(match.group(0)))
        if not said or said <= asked:
            continue  # the question already names it: it is not the answer
        found.append((match.start(), match.end()))
    return found[0] if len(found) == 1 else None
