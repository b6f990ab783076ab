"""Changing a scope's stories on disk: plan an add, update or removal, then write it atomically.

Planning is pure: from the stories as they are and what was asked, it decides the action, the
file (named by `index.corpus.naming`, never by input) and the bytes, or refuses with one line.
Writing puts each file in place with a temporary file and `os.replace`, so a reader sees the old
story or the new one, never half of one, and returns how to put everything back (a rebuild that
fails must leave the corpus as it was).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from index.corpus.naming import STORED_SUFFIX, story_file_name
from index.corpus.scopes import Scope, is_own, own_dir, own_prefix, scope_label
from index.corpus.stories import MAX_STORY_BYTES, Corpus, Story, parse_story
from index.durable import fsync_dir
from index.errors import CorpusError, StoryRefused

Action = Literal["add", "update", "remove", "unchanged"]


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file to write (`data`) or delete (`data` None), relative to the corpus folder."""

    file: str
    data: bytes | None


@dataclass(frozen=True, slots=True)
class Edit:
    """What a change does to a scope's stories, and what the story is afterwards (or was, when removed)."""

    action: Action
    scope: Scope
    story: Story
    content_hash: str  # sha256 of the stored file: the new one, or the removed one
    changes: tuple[FileChange, ...] = ()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _key(title: str) -> str:
    return " ".join(title.split()).casefold()


def plan_add(
    corpus: Corpus,
    scope: Scope,
    text: str,
    *,
    current: Mapping[str, bytes],
    elsewhere: Mapping[str, str] | None = None,
    names_on_disk: Iterable[str] = (),
) -> Edit:
    """Add the story `text` (front matter and paragraphs, as `render_story` makes it) to the scope,
    or update the scope's story with the same title.

    `corpus` holds the stories the scope is served (for a server: the shared ones and its own);
    `current` the bytes of the scope's own files (to notice an update that changes nothing);
    `elsewhere` the titles (casefolded) of other scopes' stories the new title must not take, with
    their files; `names_on_disk` what the scope's folder already holds, so a new file never replaces one.
    """
    data = text.encode("utf-8")
    if len(data) > MAX_STORY_BYTES:
        raise StoryRefused(f"the story is {len(data):,} bytes as text; a story may be {MAX_STORY_BYTES:,} at most")
    prefix = own_prefix(scope)
    probe = parse_story(data, f"{prefix}new{STORED_SUFFIX}")  # the stored form must read back as a story
    key = _key(probe.title)
    own = [s for s in corpus.stories if is_own(s.file, scope)]
    others = {_key(s.title): s.file for s in corpus.stories if not is_own(s.file, scope)} | dict(elsewhere or {})
    if key in others:
        where = "a shared story" if scope is not None and is_own(others[key], None) else "another server's story"
        raise StoryRefused(f"“{probe.title}” is already the title of {where}; give this one a title of its own")
    existing = next((s for s in own if _key(s.title) == key), None)
    if existing is not None and current.get(existing.file) == data:
        return Edit("unchanged", scope, existing, content_hash(data))
    if existing is not None and existing.file.endswith(STORED_SUFFIX):
        file = existing.file
        changes: tuple[FileChange, ...] = (FileChange(file, data),)
    else:
        taken = [*names_on_disk, *(PurePosixPath(f).name for f in current)]
        file = prefix + story_file_name(probe.title, taken)
        changes = (FileChange(file, data),)
        if existing is not None:  # a hand-written .md story becomes a stored .txt one
            changes += (FileChange(existing.file, None),)
    stored = parse_story(data, file)
    return Edit("add" if existing is None else "update", scope, stored, content_hash(data), changes)


def find_own_story(corpus: Corpus, scope: Scope, name: str) -> Story:
    """The scope's own story a person named, by its title or its file; StoryRefused when there is none."""
    wanted = _key(name)
    prefix = own_prefix(scope)
    for story in corpus.stories:
        if _key(story.title) == wanted or name.strip() in (story.file, story.file[len(prefix) :]):
            if is_own(story.file, scope):
                return story
            raise StoryRefused(
                f"“{story.title}” is a shared story; only the bot's admins change those (with shared: True, or "
                "`storybot story remove` on the host)"
            )
    shown = " ".join(name.split())[:100]
    whose = "There is no shared story" if scope is None else f"Server {scope} has no story of its own"
    raise StoryRefused(f"{whose} called “{shown}”")


def plan_remove(corpus: Corpus, scope: Scope, name: str, current: Mapping[str, bytes]) -> Edit:
    """Remove the scope's story called `name` (its title or its file name)."""
    story = find_own_story(corpus, scope, name)
    if scope is None and sum(1 for s in corpus.stories if is_own(s.file, None)) == 1:
        raise StoryRefused(
            f"“{story.title}” is the last shared story, and storybot needs at least one; add another first"
        )
    return Edit("remove", scope, story, content_hash(current.get(story.file, b"")), (FileChange(story.file, None),))


def read_own_files(corpus_dir: Path, corpus: Corpus, scope: Scope) -> dict[str, bytes]:
    """The bytes of the scope's own story files, by file (to compare an update and to undo a change)."""
    found = {}
    for story in corpus.stories:
        if is_own(story.file, scope):
            try:
                found[story.file] = (corpus_dir / story.file).read_bytes()
            except OSError as exc:
                raise CorpusError(f"{story.file}: cannot read it ({exc.strerror or exc})") from None
    return found


def apply(corpus_dir: Path, edit: Edit, before: Mapping[str, bytes]) -> Callable[[], None]:
    """Make the edit's file changes, each atomic; returns an undo that puts back what was there."""
    scope_dir = own_dir(corpus_dir, edit.scope).resolve()
    done: list[FileChange] = []

    def undo() -> None:
        for change in reversed(done):
            old = before.get(change.file)
            if old is None:
                _remove(corpus_dir, change.file)
            else:
                _write(corpus_dir, change.file, old)
        if edit.scope is not None:
            _remove_empty_folders(corpus_dir, edit.scope)

    try:
        for change in edit.changes:
            path = (corpus_dir / change.file).resolve()
            if scope_dir not in path.parents:  # the planner made the name; this is a last line of defence
                raise StoryRefused(f"{change.file}: not inside the folder of {scope_label(edit.scope)}")
            if change.data is None:
                _remove(corpus_dir, change.file)
            else:
                _write(corpus_dir, change.file, change.data)
            done.append(change)
    except BaseException:
        undo()
        raise
    if edit.scope is not None and edit.action == "remove":
        _remove_empty_folders(corpus_dir, edit.scope)
    return undo


def _write(corpus_dir: Path, file: str, data: bytes) -> None:
    path = corpus_dir / file
    temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")  # hidden: never read as a story
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temp.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        why = exc.strerror or exc
        raise CorpusError(f"{file}: cannot write it ({why}); check the corpus folder's permissions") from None
    fsync_dir(path.parent)


def _remove(corpus_dir: Path, file: str) -> None:
    path = corpus_dir / file
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        why = exc.strerror or exc
        raise CorpusError(f"{file}: cannot remove it ({why}); check the corpus folder's permissions") from None
    fsync_dir(path.parent)


def _remove_empty_folders(corpus_dir: Path, scope: int) -> None:
    """A server's folder, and `guilds/` itself, go when nothing is left in them."""
    folder = own_dir(corpus_dir, scope)
    for empty in (folder, folder.parent):
        with contextlib.suppress(OSError):  # not empty (or already gone): nothing to tidy
            empty.rmdir()
