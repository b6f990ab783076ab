"""Questions as people type them: chat shorthand spelled out, the stories' own names spelled right.

People ask "what did mullens say abt it" or "how did oneil react". The model and the lexical
side both meet a word they have never seen, and the question loses the one name it turns on.
Two small repairs, neither touching a word that is already fine:

- Chat shorthand ("abt", "ppl", "govt") becomes the word it stands for.
- A word that is neither in the stories nor a common English word, and is within one or two
  edits of a name the stories use (a word they capitalise mid-sentence, or a name written as
  two words, "de Blasio"), becomes that name as the stories write it. Apostrophes and spaces
  do not count as edits, so "oneill" and "deblasio" find "O'Neill" and "de Blasio".

Common English words come from the bundled model's WordPiece vocabulary, so "mad" is never
turned into "Mark"; a corpus word is never changed, so "sessions" stays as it is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from itertools import pairwise
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

CHAT_SHORTHAND = {
    "abt": "about",
    "abut": "about",
    "bc": "because",
    "b4": "before",
    "cuz": "because",
    "coz": "because",
    "dept": "department",
    "govt": "government",
    "gov't": "government",
    "pls": "please",
    "plz": "please",
    "ppl": "people",
    "prez": "president",
    "pres": "president",
    "r": "are",
    "thx": "thanks",
    "u": "you",
    "ur": "your",
    "w/": "with",
    "w/o": "without",
    "wat": "what",
    "wut": "what",
    "wht": "what",
    "whos": "who is",
    "whats": "what is",
    "wheres": "where is",
    "hows": "how is",
    "abt.": "about",
}
"""Shorthand seen in chat, by the lower-cased token; each expansion is plain English."""

_TOKEN = re.compile(r"[^\W_][\w'’./-]*", re.UNICODE)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w'’-]*[\w])")
_PUNCTUATION = '.,;:!?"“”()[]'
_PARTICLES = frozenset({"de", "del", "della", "di", "da", "du", "van", "von", "der", "den", "la", "le", "al", "el"})
MIN_LENGTH = 4
"""Shorter words are left alone: one edit turns them into too many other words."""


def key(text: str) -> str:
    """A name's letters only, lower case: what a misspelling is compared on."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def max_edits(length: int) -> int:
    return 1 if length < 8 else 2


class Speller:
    """Repairs for one corpus: its names, and which words it and common English already know."""

    def __init__(self, names: dict[str, str], known: frozenset[str], english: frozenset[str]) -> None:
        self._names = names  # key → the name as the stories write it
        self._keys = list(names)
        self._name_parts = frozenset(key(part) for name in names.values() for part in re.split(r"[\s'-]+", name))
        self._known = known
        self._english = english

    @classmethod
    def from_texts(cls, texts: Iterable[str], english: frozenset[str] | None = None) -> Speller:
        seen: Counter[str] = Counter()
        capitalised: Counter[str] = Counter()
        surface: dict[str, Counter[str]] = {}
        names: dict[str, str] = {}
        for text in texts:
            tokens = text.split()
            for word in tokens:
                seen[key(word)] += 1
            for match in _NAME.finditer(text):
                name = match.group(1)
                capitalised[key(name)] += 1
                surface.setdefault(key(name), Counter())[name.replace("’", "'")] += 1
            for first, second in pairwise(t.strip(_PUNCTUATION) for t in tokens):
                if second[:1].isupper() and (first.lower() in _PARTICLES or first[:1].isupper()):
                    joined = f"{first} {second}".replace("’", "'")
                    names.setdefault(key(joined), joined)
        for name_key, forms in surface.items():
            # A name: capitalised in most of the places it appears, not only at a sentence start.
            if len(name_key) >= MIN_LENGTH and capitalised[name_key] * 2 >= seen[name_key]:
                names[name_key] = forms.most_common(1)[0][0]
        known = frozenset(seen)
        return cls(names, known, english if english is not None else english_words())

    def is_name(self, word: str) -> bool:
        """Is this word (or its repair) one of the stories' names, or part of one?"""
        repaired = self._repair(word) or word
        return any(key(part) in self._name_parts for part in repaired.split())

    def correct(self, question: str) -> str:
        """The question with shorthand spelled out and misspelled names repaired."""
        out: list[str] = []
        last = 0
        for match in _TOKEN.finditer(question):
            token = match.group(0)
            trailing = ""
            while token and token[-1] in ".?!,;:":
                token, trailing = token[:-1], token[-1] + trailing
            replacement = self._repair(token)
            if replacement is not None:
                out.append(question[last : match.start()])
                out.append(replacement + trailing)
                last = match.end()
        out.append(question[last:])
        return "".join(out)

    def _repair(self, token: str) -> str | None:
        lowered = token.casefold().replace("’", "'")
        if lowered in CHAT_SHORTHAND:
            return CHAT_SHORTHAND[lowered]
        token_key = key(token)
        if token_key in self._names and token_key not in self._english:
            name = self._names[token_key]
            return name if name != token else None
        if len(token_key) < MIN_LENGTH or not token_key.isalpha():
            return None
        if token_key in self._known or token_key in self._english:
            return None
        edits = max_edits(len(token_key))
        found = process.extractOne(token_key, self._keys, scorer=DamerauLevenshtein.distance, score_cutoff=edits)
        if found is None:
            return None
        return self._names[found[0]]


@cache
def english_words() -> frozenset[str]:
    """Whole words of the bundled model's WordPiece vocabulary: common English, lower case."""
    try:
        from index.embedding.embedder import bundled_model_path

        vocab = Path(bundled_model_path()) / "vocab.txt"
        lines = vocab.read_text(encoding="utf-8").split()
    except (OSError, ImportError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and not w.startswith("##"))
