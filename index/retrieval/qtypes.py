"""Question types and whether a sentence holds something of that type.

"How many" wants a number, "when" a date, "who" a name: a sentence without one rarely
answers, which helps both ranking and knowing when to refuse.
"""

from __future__ import annotations

import re
from enum import IntEnum


class QType(IntEnum):
    OTHER = 0
    NUMBER = 1
    DATE = 2
    PERSON = 3
    PLACE = 4


_PATTERNS: list[tuple[QType, re.Pattern[str]]] = [
    (
        QType.NUMBER,
        re.compile(
            r"\bhow (many|much|long|old|far|big|large|tall|often|high|fast|deep)\b|\b(what|which) "
            r"(number|percent(age)?|amount|proportion|share)\b"
        ),
    ),
    (
        QType.DATE,
        re.compile(
            r"\bwhen\b|\b(what|which) (year|years|date|day|month|time|century|decade|era|period|season)\b|\bwhat "
            r"time\b|\bhow soon\b"
        ),
    ),
    (QType.PERSON, re.compile(r"\b(who|whom|whose)\b|\b(what|which) (person|man|woman|people|official|leader)\b")),
    (
        QType.PLACE,
        re.compile(
            r"\bwhere\b|\b(what|which) "
            r"(city|country|state|place|town|region|county|borough|area|location|continent|river|street)\b"
        ),
    ),
]

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|hundreds|"
    "thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|half|twice|first|second|third|percent"
)
_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DATE = re.compile(
    rf"\b(1[0-9]{{3}}|20[0-9]{{2}})s?\b|\b({_MONTHS}|{_DAYS})\b|\b(century|centuries|decade|decades|year|years|"
    r"today|yesterday|tomorrow|morning|evening|night|week|weeks|month|months|earlier|later|ago|since|until|bc|ad)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+|\b[A-Z]{2,}\b")


def question_type(question: str) -> QType:
    folded = " ".join(question.lower().split())
    for qtype, pattern in _PATTERNS:
        if pattern.search(folded):
            return qtype
    return QType.OTHER


def has_number(text: str) -> bool:
    return bool(_NUMBER.search(text))


def has_date(text: str) -> bool:
    return bool(_DATE.search(text))


def capitalised(text: str) -> set[str]:
    """Lower-cased capitalised words (names, places) of a text, sentence starts excluded."""
    return {m.group(0).lower() for m in _CAPITALISED.finditer(text)}
