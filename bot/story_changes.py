"""A story change as the person who asked for it sees it, in Discord and at the shell; checks before any work.

Pure module (no discord import): `/story add`/`remove` and `storybot story` both use it, so both
say the same things. What gets stored and rebuilt is `index.library.Library`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.cards import ANSWER_COLOR, NOT_ANSWERED_COLOR, Card
from bot.markdown import escape_markdown, fit_prefix, safe_link
from index.corpus.extract.detect import SUFFIXES
from index.corpus.naming import check_upload_name
from index.corpus.scopes import is_own
from index.errors import BuildInProgressError, CorpusError, StorybotError, StoryRefused
from index.library import StoryChange
from index.types import StorySummary

UPLOAD_SUFFIXES = tuple(sorted(SUFFIXES))
"""The file names `story add` takes: text, Markdown, web pages and PDFs."""
UPLOAD_KINDS = ".txt, .md, .html and .pdf"
VERBS = {"add": "Added", "update": "Updated", "remove": "Removed", "unchanged": "Unchanged"}
MAX_CHOICE_CHARS = 100  # Discord's limit on an autocomplete choice's name and value


@dataclass(frozen=True, slots=True)
class Choice:
    """One autocomplete choice, as plain data (the cog makes discord's `Choice` of it)."""

    name: str
    value: str


def check_upload(filename: str, size: int, max_bytes: int) -> None:
    """Refuse an upload by its name and announced size before downloading it (the bytes are checked again)."""
    check_upload_name(filename)
    if PurePosixPath(filename).suffix.lower() not in UPLOAD_SUFFIXES:
        raise StoryRefused(f"{filename}: storybot takes {UPLOAD_KINDS} files")
    if size > max_bytes:
        raise StoryRefused(f"{filename}: {size:,} bytes is more than the {max_bytes:,} bytes a story may be")
    if size == 0:
        raise StoryRefused(f"{filename}: the file is empty")


def check_source(has_file: bool, url: str | None) -> None:
    """Exactly one of a file or a link."""
    if has_file and url:
        raise StoryRefused("give a file or a link, not both")
    if not has_file and not (url or "").strip():
        raise StoryRefused("give the story as a file (.txt, .md, .html or .pdf) or as a link")


def where_text(scope: int | None, *, here: bool) -> str:
    """Whose stories these are, for a sentence: "this server's stories", "the shared stories" or "server N's"."""
    if scope is None:
        return "the shared stories (every server and DMs)"
    return "this server's stories" if here else f"server {scope}'s stories"


def refusal_text(exc: StorybotError, *, removing: bool = False) -> str:
    """One line saying why nothing changed, for a refusal or a failed rebuild (the change was undone)."""
    head = "Nothing was removed" if removing else "Nothing was added"
    if isinstance(exc, BuildInProgressError):
        return f"{head}: another build of the index is running (perhaps `storybot index build` on the host); try again."
    if isinstance(exc, CorpusError):  # refusals, extraction and corpus problems: the reason is the message
        return f"{head}: {exc}"
    return f"{head}: the rebuild failed, so I keep answering from the previous index ({exc})"


def change_lines(change: StoryChange, origin: str | None, *, scope_text: str) -> list[str]:
    """What the story now is, for the shell: the action, title, paragraphs, where it came from, the rebuild."""
    edit, story = change.edit, change.edit.story
    if edit.action == "unchanged":
        return [f"Unchanged: “{story.title}” in {scope_text} already holds exactly this text."]
    into = {"add": "to", "update": "in", "remove": "from"}[edit.action]
    lines = [f"{VERBS[edit.action]} “{story.title}” {into} {scope_text}: {len(story.paragraphs)} paragraphs."]
    if edit.action != "remove":
        lines.append(f"  from:      {origin or story.source or 'an upload'}")
    lines.append(f"  file:      {story.file}  (sha256 {edit.content_hash[:12]})")
    lines.extend(_rebuild_lines(change))
    return lines


def _rebuild_lines(change: StoryChange) -> list[str]:
    rebuild = change.rebuild
    if rebuild is None:
        return []
    lines = []
    if rebuild.report is not None:
        r = rebuild.report
        lines.append(
            f"  index:     {r.stories} stories, {r.sentences} sentences in {r.seconds:.1f} s "
            f"({r.embedded} new text{'' if r.embedded == 1 else 's'} embedded, the rest reused)"
        )
    else:
        lines.append("  index:     no stories of its own left; it is answered from the shared stories")
    if rebuild.servers:
        lines.append(f"  servers:   {rebuild.servers} server index(es) rebuilt with it")
    lines.extend(f"  not rebuilt (keeps its previous index): {failure}" for failure in rebuild.failed)
    return lines


def change_card(change: StoryChange, origin: str | None) -> Card:
    """`/story add`/`remove`'s answer: what the story now is, privately."""
    edit, story = change.edit, change.edit.story
    where = where_text(edit.scope, here=True)
    title = fit_prefix(" ".join(story.title.split()), 200)[0]
    paragraphs = len(story.paragraphs)
    if edit.action == "unchanged":
        text = f"**{title}** already holds exactly this text, so nothing changed."
    elif edit.action == "add":
        text = f"Added **{title}** to {where}: {paragraphs} paragraphs. Questions here are answered from it now."
    elif edit.action == "update":
        text = (
            f"Updated **{title}** in {where}: a story with this title was already there, and this text replaces it "
            f"({paragraphs} paragraphs). Answers quote the new text now."
        )
    else:
        text = f"Removed **{title}** from {where}. Questions are no longer answered from it."
    fields: list[tuple[str, str]] = [("Paragraphs", str(paragraphs))]
    if edit.action != "remove":
        link = safe_link(origin) or safe_link(story.source)
        came_from = f"[{fit_prefix(link, 200)[0]}]({link})" if link else fit_prefix(origin or "an upload", 200)[0]
        fields.append(("From", came_from))
    fields.append(("Stored as", fit_prefix(story.file, 300, render=_code)[0]))
    failed = change.rebuild.failed if change.rebuild is not None else ()
    if failed:
        text += "\n\n" + fit_prefix("Not rebuilt (they keep their previous index): " + "; ".join(failed), 1000)[0]
    color = NOT_ANSWERED_COLOR if edit.action == "remove" else ANSWER_COLOR
    heading = f"{VERBS[edit.action]}: {fit_prefix(story.title, 200, render=str)[0]}"
    return Card(heading, text, "", color, fields=tuple(fields))


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def shown_title(title: str) -> str:
    """A title as a list shows it: escaped, on one line."""
    return escape_markdown(" ".join(title.split()))


def story_choices(stories: Sequence[StorySummary], scope: int | None, typed: str, limit: int = 25) -> list[Choice]:
    """`/story remove`'s autocomplete: the scope's own stories whose title holds what was typed.

    Each choice shows the title and sends it back (or the file, for a title longer than Discord's 100
    characters); `remove` looks either up among the scope's stories, never on disk by that name.
    """
    wanted = " ".join(typed.split()).casefold()
    found: list[Choice] = []
    for story in stories:
        title = " ".join(story.title.split())
        if not is_own(story.file, scope) or wanted not in title.casefold():
            continue
        value = title if len(title) <= MAX_CHOICE_CHARS else story.file
        if len(value) > MAX_CHOICE_CHARS:
            continue
        shown = title if len(title) <= MAX_CHOICE_CHARS else title[: MAX_CHOICE_CHARS - 1] + "…"
        found.append(Choice(shown, value))
        if len(found) == limit:
            break
    return found
