"""Whose stories are where: the shared ones at the top of the corpus folder, each server's in `guilds/<id>/`.

A scope is a server id, or None for the shared stories (served everywhere, DMs included). Every
folder a scope uses is made here from a server id, a number, never from text a person typed.
"""

from __future__ import annotations

from pathlib import Path

from index.corpus.stories import GUILDS_DIR, parse_story, story_files
from index.errors import CorpusError

Scope = int | None
"""A server id, or None for the shared stories."""

MAX_GUILD_ID = 2**64 - 1  # Discord ids are unsigned 64-bit snowflakes


def check_scope(scope: Scope) -> Scope:
    """The scope itself, or a CorpusError when it is not a server id (a bool, a negative number, …)."""
    if scope is None:
        return None
    if isinstance(scope, bool) or not isinstance(scope, int) or not 0 < scope <= MAX_GUILD_ID:
        raise CorpusError(f"{scope!r} is not a server id")
    return scope


def guild_id_from_text(text: str) -> int:
    """A server id typed at the shell (`--guild`): 15 to 21 digits, as Discord shows them."""
    value = text.strip()
    if not value.isascii() or not value.isdigit() or not 15 <= len(value) <= 21:
        raise CorpusError(f"{text!r} is not a server id (a number of 15 to 21 digits; Copy Server ID in Discord)")
    guild = check_scope(int(value))
    assert guild is not None
    return guild


def own_dir(corpus_dir: Path, scope: Scope) -> Path:
    """The folder of a scope's own stories: the corpus folder itself for the shared ones."""
    scope = check_scope(scope)
    return corpus_dir if scope is None else corpus_dir / GUILDS_DIR / str(scope)


def own_prefix(scope: Scope) -> str:
    """How the files of a scope's own stories start, relative to the corpus folder ("" for shared)."""
    scope = check_scope(scope)
    return "" if scope is None else f"{GUILDS_DIR}/{scope}/"


def is_own(file: str, scope: Scope) -> bool:
    """Whether a story file (relative to the corpus folder) is one of the scope's own."""
    if scope is None:
        return not file.startswith(f"{GUILDS_DIR}/")
    return file.startswith(own_prefix(scope))


def scope_label(scope: Scope) -> str:
    return "the shared stories" if scope is None else f"server {scope}"


def has_own_stories(corpus_dir: Path, guild: int) -> bool:
    """Whether a server has stories of its own on disk (an unreadable folder counts as none)."""
    folder = own_dir(corpus_dir, guild)
    try:
        return folder.is_dir() and bool(story_files(folder))
    except OSError:
        return False


def guilds_with_stories(corpus_dir: Path) -> list[int]:
    """The servers whose folder under `guilds/` holds stories, in id order; other names there are ignored."""
    folder = corpus_dir / GUILDS_DIR
    try:
        names = [child.name for child in folder.iterdir() if child.is_dir()] if folder.is_dir() else []
    except OSError:
        return []
    guilds = []
    for name in names:
        plain_id = name.isascii() and name.isdigit() and not name.startswith("0") and int(name) <= MAX_GUILD_ID
        if plain_id and has_own_stories(corpus_dir, int(name)):
            guilds.append(int(name))
    return sorted(guilds)


def titles_of_guilds(corpus_dir: Path) -> dict[str, str]:
    """Every server's story titles (casefolded) and their files, so a new shared story can avoid them.

    A file that does not read is skipped: it is its server's problem, reported when that server's
    index is built.
    """
    titles: dict[str, str] = {}
    for guild in guilds_with_stories(corpus_dir):
        for path in story_files(own_dir(corpus_dir, guild)):
            file = path.relative_to(corpus_dir).as_posix()
            try:
                story = parse_story(path.read_bytes(), file)
            except (CorpusError, OSError):
                continue
            titles.setdefault(story.title.casefold(), file)
    return titles
