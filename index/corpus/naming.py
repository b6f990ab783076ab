"""Names of stored story files, made from the title by a strict rule and never taken from input.

A file name is lowercase ASCII letters and digits joined by single hyphens, at most
`MAX_SLUG_CHARS` long, then `.txt`: it cannot hold a slash, a dot-dot, a hidden-file dot, a
control character or a space, whatever the title or the uploaded file was called. Titles people
type are checked too (`check_title`), so a title is text a reader can see.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from index.errors import StoryRefused

MAX_SLUG_CHARS = 60
MAX_TITLE_CHARS = 200
STORED_SUFFIX = ".txt"
RESERVED_STEMS = frozenset({"readme", "con", "prn", "aux", "nul"})
"""Names the corpus skips (README) or some systems refuse; such a slug gets `-story` added."""
_WORD = re.compile(r"[a-z0-9]+")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def slugify(title: str) -> str:
    """`Council approves the new bus lanes!` → `council-approves-the-new-bus-lanes`.

    Accents are dropped (é → e); a title with no ASCII letters or digits at all gets
    `story-` and ten hex digits of its hash, so it still has a stable name of its own.
    """
    decomposed = unicodedata.normalize("NFKD", title)
    ascii_text = "".join(
        c if c.isascii() else "" if unicodedata.category(c) == "Mn" else " " for c in decomposed
    ).lower()  # accents go, any other letter or sign parts words
    slug = ""
    for word in _WORD.findall(ascii_text):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_SLUG_CHARS:
            slug = slug or word[:MAX_SLUG_CHARS]
            break
        slug = candidate
    if not slug:
        slug = "story-" + hashlib.sha256(title.encode("utf-8")).hexdigest()[:10]
    if slug in RESERVED_STEMS:
        slug += "-story"
    return slug


def story_file_name(title: str, taken: Iterable[str]) -> str:
    """`<slug>.txt`, or `<slug>-2.txt`, `-3`… when another file in the folder has that name."""
    used = {name.casefold() for name in taken}
    base = slugify(title)
    name, n = f"{base}{STORED_SUFFIX}", 2
    while name in used:
        name, n = f"{base}-{n}{STORED_SUFFIX}", n + 1
    return name


def check_title(title: str) -> str:
    """A title a person gave, with its white space tidied, or StoryRefused saying what is wrong with it."""
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\t" for c in title):
        raise StoryRefused("the title has control characters; give a plain title")
    cleaned = " ".join(title.split())
    if not cleaned:
        raise StoryRefused("the title is empty")
    if len(cleaned) > MAX_TITLE_CHARS:
        raise StoryRefused(f"the title is {len(cleaned)} characters long; at most {MAX_TITLE_CHARS}")
    if not any(c.isalnum() for c in cleaned):
        raise StoryRefused("the title needs letters or digits")
    return cleaned


def check_upload_name(filename: str) -> str:
    """An uploaded file's name, only to read its kind and show it: a plain name, or StoryRefused.

    It never becomes a path (the stored name comes from the title), but a name that tries to leave
    its folder says something about the upload, so it is refused rather than trusted.
    """
    if not filename or filename != filename.strip():
        raise StoryRefused("the file has no plain name")
    if "/" in filename or "\\" in filename:
        raise StoryRefused(f"{filename[:80]!r}: a file name may not point into other folders")
    if filename.startswith("."):
        raise StoryRefused(f"{filename[:80]!r}: a hidden file's name (it starts with a dot); rename it")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in filename) or len(filename) > 200:
        raise StoryRefused(f"{filename[:80]!r}: the file name has odd characters")
    return filename
