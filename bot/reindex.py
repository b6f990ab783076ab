"""/reindex's work: rebuild a scope's index off the event loop; the library swaps the new engine in.

The current engines keep answering while the rebuild runs; only a finished, loaded index replaces
one. A server with stories of its own rebuilds its own index; the shared index takes every
server's index along (they hold the shared stories too). One rebuild per scope runs at a time
here, the library runs rebuilds one after another, and the index's build lock refuses a rebuild
while another process (say `storybot index build`) holds it. Every outcome is reported to whoever
asked, with text written to be shown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.render import fit_prefix
from index.errors import BuildInProgressError, StorybotError

if TYPE_CHECKING:
    from bot.service import AskService
    from index.corpus.scopes import Scope
    from index.library import Library, Rebuild

log = logging.getLogger(__name__)

Report = Callable[[str], Awaitable[object]]
"""Sends one line of text to the admin who asked for the rebuild."""


def rebuilt_text(rebuild: Rebuild) -> str:
    """What an admin is told after a rebuild that worked."""
    build = rebuild.report
    if build is None:
        return "This server has no stories of its own now, so it is answered from the shared stories."
    whose = "the index" if rebuild.scope is None else "this server's index"
    text = (
        f"Rebuilt {whose}: {build.stories} stories, {build.paragraphs} paragraphs, "
        f"{build.sentences} sentences in {build.seconds:.1f} s. New questions use it now."
    )
    if rebuild.servers:
        text += f" The {rebuild.servers} server index(es) holding the shared stories were rebuilt too."
    if rebuild.failed:
        text += " " + fit_prefix("Not rebuilt (they keep their previous index): " + "; ".join(rebuild.failed), 800)[0]
    return text


class Reindexer:
    """Rebuilds indexes for one asking service, in the background."""

    def __init__(self, service: AskService) -> None:
        self._service = service
        self._tasks: dict[Scope, asyncio.Task[None]] = {}

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    def running_for(self, scope: Scope) -> bool:
        task = self._tasks.get(scope)
        return task is not None and not task.done()

    def start(self, scope: Scope, report: Report) -> bool:
        """Rebuild `scope` in the background and `report` the result; False if it is running or nothing is loaded."""
        library = self._service.library
        if self.running_for(scope) or library is None:
            return False
        self._tasks[scope] = asyncio.create_task(self._rebuild(library, scope, report), name="storybot-reindex")
        return True

    async def _rebuild(self, library: Library, scope: Scope, report: Report) -> None:
        log.info("Rebuilding the index of %s (questions are answered meanwhile)", scope or "the shared stories")
        try:
            rebuild = await asyncio.to_thread(library.rebuild, scope)
        except BuildInProgressError:
            text = (
                "Another build of the index is running (perhaps `storybot index build` on the host); try again when "
                "it ends."
            )
            log.warning("Reindex refused: another build holds the lock")
        except StorybotError as exc:  # its message is written to be shown: it names the file and the problem
            log.warning("Reindex failed: %s", exc)
            detail = fit_prefix(str(exc), 1500)[0]
            text = f"The rebuild failed, so I keep answering from the previous index:\n{detail}"
        except Exception:
            log.exception("Reindex failed")
            text = (
                "The rebuild failed unexpectedly, so I keep answering from the previous index. The host's log has "
                "the details."
            )
        else:
            if rebuild.report is not None:
                r = rebuild.report
                log.info("Reindexed: %d stories, %d sentences in %.1f s", r.stories, r.sentences, r.seconds)
            text = rebuilt_text(rebuild)
        try:
            await report(text)
        except discord.HTTPException:
            log.warning("Could not report the reindex result to the admin who asked")
