"""Reading the corpus folder: stories as `.txt` or `.md`, with optional front matter.

Paragraph text is kept exactly as a reader sees it, because every quote is sliced from it.
A `.txt` file has one paragraph per non-empty line; a `.md` file separates paragraphs by
blank lines, and the wrapped lines of one paragraph are joined with a single space.

The stories at the top of the corpus folder are shared; `guilds/<server id>/` at its top holds
each server's own (see `index.corpus.scopes`), read only when asked for with `own_dir`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from index.errors import CorpusError

STORY_SUFFIXES = (".txt", ".md")
MAX_STORY_BYTES = 20 * 1024 * 1024
GUILDS_DIR = "guilds"
"""The folder at the top of the corpus that holds each server's own stories, one folder per server id."""
FRONT_MATTER_KEYS = ("title", "source", "date", "author")
_FRONT_MATTER_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(.*)$")


@dataclass(frozen=True, slots=True)
class Story:
    """One story: its title, where it came from, and its paragraphs in reading order."""

    title: str
    file: str  # path relative to the corpus folder, with forward slashes
    paragraphs: tuple[str, ...]
    source: str | None = None
    date: str | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Corpus:
    stories: tuple[Story, ...]

    @property
    def content_hash(self) -> str:
        return corpus_hash(self.stories)


def corpus_hash(stories: tuple[Story, ...] | list[Story]) -> str:
    """A hash of everything an answer depends on: titles, headers and paragraph text."""
    digest = hashlib.sha256()
    for story in sorted(stories, key=lambda s: s.file):
        record = [story.file, story.title, story.source, story.date, story.author, list(story.paragraphs)]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def _strip_value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        # A quoted YAML-style value; keep inner quotes as written.
        return inner.replace('\\"', '"') if value[0] == '"' else inner.replace("''", "'")
    return value


def split_front_matter(text: str, file: str) -> tuple[dict[str, str], str]:
    """Separate a `---` front matter block from the body; the body keeps its own lines."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise CorpusError(f"{file}: front matter opened with '---' on line 1 is never closed")
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _FRONT_MATTER_LINE.match(line.strip())
        if not match:
            raise CorpusError(f"{file}: line {number} of the front matter is not 'key: value'")
        key = match.group(1).lower()
        if key in FRONT_MATTER_KEYS:
            meta[key] = _strip_value(match.group(2))
    return meta, "\n".join(lines[end + 1 :])


def _clean_line(line: str) -> str:
    return line.strip()


def paragraphs_of_txt(body: str) -> list[str]:
    return [cleaned for line in body.split("\n") if (cleaned := _clean_line(line))]


def paragraphs_of_markdown(body: str) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in body.split("\n"):
        cleaned = _clean_line(line)
        if cleaned:
            current.append(cleaned)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def decode_story(data: bytes, file: str) -> str:
    """UTF-8 with or without BOM; LF, CRLF or CR line endings become LF."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{file}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8") from None
    if "\x00" in text:
        raise CorpusError(f"{file}: contains NUL bytes; it looks like a binary file, not a story")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_story(data: bytes, file: str) -> Story:
    """Turn the bytes of one story file into a Story; pure, so edge cases test directly."""
    text = decode_story(data, file)
    meta, body = split_front_matter(text, file)
    paragraphs = paragraphs_of_markdown(body) if file.lower().endswith(".md") else paragraphs_of_txt(body)
    if not paragraphs:
        raise CorpusError(f"{file}: the story is empty (no paragraphs after the header)")
    title = " ".join(meta.get("title", "").split()) or title_from_file(file)
    return Story(
        title=title,
        file=file,
        paragraphs=tuple(paragraphs),
        source=meta.get("source") or None,
        date=meta.get("date") or None,
        author=meta.get("author") or None,
    )


def title_from_file(file: str) -> str:
    stem = Path(file).stem
    return " ".join(re.split(r"[_\-\s]+", stem)).strip() or stem


def story_files(corpus_dir: Path) -> list[Path]:
    """The `.txt`/`.md` files below the folder, skipping README files, hidden paths and the servers' own
    stories (`guilds/` at the top)."""
    found = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if len(relative.parts) > 1 and relative.parts[0] == GUILDS_DIR:
            continue
        if path.suffix.lower() not in STORY_SUFFIXES or not path.is_file():
            continue
        if path.stem.lower() == "readme":
            continue
        found.append(path)
    return found


def load_corpus(corpus_dir: Path, *, own_dir: Path | None = None) -> Corpus:
    """Read every shared story of the corpus folder, and with `own_dir` (a folder inside it) a server's
    own stories beside them, or stop with one line naming the problem. Titles are unique across both."""
    files = _listed(corpus_dir)
    if own_dir is not None and own_dir.is_dir():
        files += _listed(own_dir)
    if not files:
        raise CorpusError(f"{corpus_dir}: no stories found (add .txt or .md files)")
    stories: list[Story] = []
    titles: dict[str, str] = {}
    for path in files:
        file = path.relative_to(corpus_dir).as_posix()
        story = parse_story(_read_story_file(path, file), file)
        key = story.title.casefold()
        if key in titles:
            raise CorpusError(f"{file}: has the same title as {titles[key]} ({story.title!r}); titles must be unique")
        titles[key] = file
        stories.append(story)
    return Corpus(tuple(stories))


def _listed(folder: Path) -> list[Path]:
    if not folder.exists():
        raise CorpusError(f"{folder}: corpus folder not found (set STORYBOT_CORPUS_DIR)")
    if not folder.is_dir():
        raise CorpusError(f"{folder}: not a folder (set STORYBOT_CORPUS_DIR to the folder of stories)")
    try:
        os.listdir(folder)  # Path.rglob skips a folder it cannot read, which would look like an empty corpus
        return story_files(folder)
    except OSError as exc:
        raise CorpusError(
            f"{folder}: cannot read the corpus folder ({exc.strerror or exc}); check its permissions or "
            "STORYBOT_CORPUS_DIR"
        ) from None


def _read_story_file(path: Path, file: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_STORY_BYTES:
            limit = MAX_STORY_BYTES // 2**20
            raise CorpusError(f"{file}: {size:,} bytes is larger than the {limit} MiB a story may be")
        return path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{file}: cannot read it ({exc.strerror or exc})") from None
