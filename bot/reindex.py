"""/reindex's work: rebuild the index off the event loop, then swap the new engine into the asking service.

The current engine keeps answering while the rebuild runs; only a finished, loaded index replaces
it. One rebuild runs at a time in this process, and the index's build lock refuses a rebuild while
another process (say `storybot index build`) holds it. Every outcome is reported to whoever asked,
with text written to be shown.
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
    from index import Engine

log = logging.getLogger(__name__)

Report = Callable[[str], Awaitable[object]]
"""Sends one line of text to the admin who asked for the rebuild."""


class Reindexer:
    """Rebuilds the index for one asking service, in the background, one rebuild at a time."""

    def __init__(self, service: AskService) -> None:
        self._service = service
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, report: Report) -> bool:
        """Rebuild in the background and `report` the result; False if one is running or no engine is loaded."""
        engine = self._service.engine
        if self.running or engine is None:
            return False
        self._task = asyncio.create_task(self._rebuild(engine, report), name="storybot-reindex")
        return True

    async def _rebuild(self, engine: Engine, report: Report) -> None:
        log.info("Rebuilding the index (questions are answered from the current one meanwhile)")
        try:
            new_engine, build = await asyncio.to_thread(engine.rebuilt)
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
            self._service.engine = new_engine  # atomic swap: the next batch of questions uses it
            log.info("Reindexed: %d stories, %d sentences in %.1f s", build.stories, build.sentences, build.seconds)
            text = (
                f"Rebuilt the index: {build.stories} stories, {build.paragraphs} paragraphs, "
                f"{build.sentences} sentences in {build.seconds:.1f} s. New questions use it now."
            )
        try:
            await report(text)
        except discord.HTTPException:
            log.warning("Could not report the reindex result to the admin who asked")
