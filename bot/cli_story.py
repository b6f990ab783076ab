"""`storybot story`: add, update, remove and list stories from the shell, and read the log of changes.

The same library calls as `/story add` and `/story remove` (`index.library.Library`): the file is
stored under a name made from its title, the index rebuilt incrementally, and the change logged
in the records as made by `shell:<login>`. A running bot picks these changes up at `/reindex`
or its next start. No discord import.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli_common import errors_as_lines, settings_or_fail, setup_logging

if TYPE_CHECKING:
    from bot.settings import Settings
    from index.corpus.extract import ExtractedStory
    from index.corpus.scopes import Scope
    from index.library import Library, StoryChange

GUILD_HELP = "A server id: act on that server's own stories (default: the shared stories every server sees)."


def _scope(guild: str | None) -> Scope:
    from index.corpus.scopes import guild_id_from_text

    return guild_id_from_text(guild) if guild is not None else None


def _scope_text(scope: Scope) -> str:
    return "the shared stories" if scope is None else f"server {scope}'s stories"


def _who() -> str:
    try:
        return f"shell:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "shell:unknown"


def _open_library(settings: Settings) -> Library:
    """The shared engine (built first if missing or stale); a server's engine is made when its stories change."""
    from index.library import Library

    return Library.open(settings.engine_config(), build="if-needed", progress=True, guilds=False)


def _record(settings: Settings, change: StoryChange, origin: str | None) -> None:
    from bot.records import Records
    from bot.story_log import scope_text

    edit = change.edit
    if edit.action == "unchanged":
        return
    records = Records.from_settings(settings)
    try:
        records.record_story_change(
            who=_who(),
            who_name=None,
            scope=scope_text(edit.scope),
            action=edit.action,
            title=edit.story.title,
            file=edit.story.file,
            content_hash=edit.content_hash,
            origin=origin,
        )
    finally:
        records.close()


def _read_source(source: str, title: str | None, settings: Settings) -> tuple[str, ExtractedStory]:
    """The story at a link or in a file, extracted: (where it came from, the story)."""
    from bot.story_changes import check_upload
    from index.corpus.extract import extract_story
    from index.errors import StoryRefused

    limit = settings.max_story_bytes
    if source.lower().startswith(("http://", "https://")):
        from bot.fetching import FetchPolicy, fetch_document_sync

        document = fetch_document_sync(source, FetchPolicy.from_settings(settings))
        content_type = document.content_type + (f"; charset={document.charset}" if document.charset else "")
        story = extract_story(
            document.body, content_type=content_type, source_url=document.url, title=title, max_bytes=limit
        )
        return document.url, story
    path = Path(source)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StoryRefused(f"{source}: cannot read it ({exc.strerror or exc})") from None
    if not path.is_file():
        raise StoryRefused(f"{source}: not a file")
    check_upload(path.name, size, limit)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoryRefused(f"{source}: cannot read it ({exc.strerror or exc})") from None
    return path.name, extract_story(data, filename=path.name, title=title, max_bytes=limit)


@click.group("story")
def story_group() -> None:
    """Add, update, remove and list stories: the shared ones, or a server's own with --guild."""


@story_group.command("add")
@click.argument("source")
@click.option("--guild", default=None, metavar="ID", help=GUILD_HELP)
@click.option("--title", default=None, help="Its title (default: the one the document gives).")
def story_add(source: str, guild: str | None, title: str | None) -> None:
    """Add the story in SOURCE (a .txt, .md, .html or .pdf file, or an http(s) link), or update the story
    with its title; then rebuild the index, embedding only the new text.

    \b
    Examples:
      storybot story add bus-lanes.md
      storybot story add https://example.org/news/bus-lanes --guild 811111111111111111
      storybot story add report.pdf --title "Council budget report"
    """
    settings = settings_or_fail()
    setup_logging("WARNING")
    from bot.story_changes import change_lines
    from index.corpus.naming import check_title

    with errors_as_lines():
        scope = _scope(guild)
        wanted_title = check_title(title) if title is not None else None
        origin, story = _read_source(source, wanted_title, settings)
        change = _open_library(settings).add_story(scope, story.text)
        _record(settings, change, origin)
    click.echo("\n".join(change_lines(change, origin, scope_text=_scope_text(scope))))


@story_group.command("remove")
@click.argument("name")
@click.option("--guild", default=None, metavar="ID", help=GUILD_HELP)
def story_remove(name: str, guild: str | None) -> None:
    """Remove the story called NAME (its title, or its file as `story list` shows it), then rebuild.

    \b
    Example:
      storybot story remove "Council approves the new bus lanes" --guild 811111111111111111
    """
    settings = settings_or_fail()
    setup_logging("WARNING")
    from bot.story_changes import change_lines

    with errors_as_lines():
        scope = _scope(guild)
        change = _open_library(settings).remove_story(scope, name)
        _record(settings, change, None)
    click.echo("\n".join(change_lines(change, None, scope_text=_scope_text(scope))))


@story_group.command("list")
@click.option("--guild", default=None, metavar="ID", help="A server id: the stories that server is answered from.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per story.")
def story_list(guild: str | None, as_json: bool) -> None:
    """The stories on disk a server is answered from (default: the shared ones, as in DMs), whose each one is.

    Reads the corpus folder only: no model, no index.
    """
    settings = settings_or_fail()
    from index.corpus.scopes import is_own
    from index.corpus.stories import load_corpus
    from index.library import scope_config

    with errors_as_lines():
        scope = _scope(guild)
        config = scope_config(settings.engine_config(), scope)
        corpus = load_corpus(config.corpus_dir, own_dir=config.own_stories_dir)
    for story in corpus.stories:
        whose = "shared" if is_own(story.file, None) else str(scope)
        if as_json:
            row = {
                "title": story.title,
                "file": story.file,
                "paragraphs": len(story.paragraphs),
                "source": story.source,
                "date": story.date,
                "author": story.author,
                "scope": whose,
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            label = "shared" if whose == "shared" else "this server"
            link = f"  <{story.source}>" if story.source else ""
            click.echo(f"[{label}] {story.title} ({story.file}, {len(story.paragraphs)} ¶){link}")


@story_group.command("log")
@click.option("-n", "--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="How many.")
@click.option("--guild", default=None, metavar="ID", help="Only that server's changes.")
@click.option("--shared", is_flag=True, help="Only the shared stories' changes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per change.")
def story_log(limit: int, guild: str | None, shared: bool, as_json: bool) -> None:
    """Who added, updated or removed which story, where and when, newest first, with each file's sha256."""
    settings = settings_or_fail()
    from bot.records import Records
    from bot.story_log import SHARED, format_story_log

    with errors_as_lines():
        scope = SHARED if shared else (str(_scope(guild)) if guild is not None else None)
        records = Records.from_settings(settings)
        try:
            rows = records.story_log(limit, scope)
        finally:
            records.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.to_json(), ensure_ascii=False))
    else:
        click.echo(format_story_log(rows))
