"""Which engine serves which scope, and the one place a scope's index is rebuilt and swapped.

The shared engine answers in DMs and in every server without stories of its own. A server with
stories of its own (`guilds/<id>/` in the corpus folder) gets an engine of its own, over the
shared stories and its own, in `guilds/<id>/` of the index folder. Every engine shares the
shared engine's model and scorer (`Engine.sibling`): one of each per process. A server's build
reads the shared index's embedding cache, so only its own text goes through the model.

Rebuilds and story changes run one at a time (`changing`); each builds incrementally and swaps
the finished engine in at once, so questions are answered from the old engine until then, and a
failure leaves it serving. A story change that fails to build is undone on disk. Blocking: the
bot calls these from worker threads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from index.config import EngineConfig
from index.corpus.edits import Edit, apply, plan_add, plan_remove, read_own_files
from index.corpus.scopes import (
    Scope,
    check_scope,
    guilds_with_stories,
    has_own_stories,
    own_dir,
    scope_label,
    titles_of_guilds,
)
from index.corpus.stories import GUILDS_DIR, Corpus, load_corpus
from index.embedding.embedder import Embedder
from index.engine import Engine
from index.errors import StorybotError
from index.store.build import BuildReport, build_index
from index.store.generations import load_generation

log = logging.getLogger(__name__)


def scope_config(config: EngineConfig, scope: Scope) -> EngineConfig:
    """The engine settings of a scope: the shared ones as given; a server's read its own stories too and keep
    their index in `guilds/<id>/` of the index folder."""
    scope = check_scope(scope)
    if scope is None:
        return config
    return replace(
        config,
        index_dir=config.index_dir / GUILDS_DIR / str(scope),
        own_stories_dir=own_dir(config.corpus_dir, scope),
        shared_index_dir=config.index_dir,
    )


def config_for_guild(config: EngineConfig, guild: int | None) -> EngineConfig:
    """What a question from `guild` is answered from: its own index when it has stories of its own."""
    if guild is None or not has_own_stories(config.corpus_dir, guild):
        return config
    return scope_config(config, guild)


@dataclass(frozen=True, slots=True)
class Rebuild:
    """What a rebuild did: the scope's build (None when the scope now has no index of its own: a server whose
    last story went), and after a shared rebuild, the servers' indexes rebuilt and those that failed."""

    scope: Scope
    report: BuildReport | None
    servers: int = 0
    failed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryChange:
    """A story added, updated or removed (or an update that changed nothing), and the rebuild it took."""

    edit: Edit
    rebuild: Rebuild | None


class Library:
    """The engines of one process: the shared one and one per server with stories of its own."""

    def __init__(self, shared: Engine) -> None:
        self._shared = shared
        self._guilds: dict[int, Engine] = {}
        self._swap_lock = threading.Lock()
        self.changing = threading.Lock()
        """Held by each rebuild and story change: one at a time in this process (builds share the CPU)."""

    @classmethod
    def open(
        cls,
        config: EngineConfig,
        *,
        build: str = "if-needed",
        progress: bool = False,
        embedder: Embedder | None = None,
        guilds: bool = True,
    ) -> Library:
        """The shared engine and (with `guilds`) every server's, building what is missing or stale if allowed."""
        library = cls(Engine.open(config, build=build, progress=progress, embedder=embedder))
        if guilds:
            library.open_guilds(build=build)
        return library

    # -- which engine serves whom ---------------------------------------------------------------

    @property
    def shared(self) -> Engine:
        return self._shared

    @property
    def config(self) -> EngineConfig | None:
        """The shared engine's settings (None for a stand-in engine without any, in tests)."""
        config = getattr(self._shared, "config", None)
        return config if isinstance(config, EngineConfig) else None

    def engine_for(self, guild: int | None) -> Engine:
        """The engine that answers in `guild` (None: a DM): its own, else the shared one."""
        if guild is None:
            return self._shared
        return self._guilds.get(guild, self._shared)

    def own_engine(self, guild: int) -> Engine | None:
        return self._guilds.get(guild)

    @property
    def guilds(self) -> tuple[int, ...]:
        """The servers served from an engine of their own."""
        return tuple(sorted(self._guilds))

    def scope_of(self, guild: int | None) -> Scope:
        """The scope a server's admin acts on: its own when it has an engine or stories of its own, else shared.

        Reads the corpus folder when the server has no engine yet (stories the host put there).
        """
        if guild is None:
            return None
        if guild in self._guilds:
            return guild
        config = self.config
        return guild if config is not None and has_own_stories(config.corpus_dir, guild) else None

    def swap(self, scope: Scope, engine: Engine | None) -> None:
        """Serve `scope` from `engine` from the next question on (None: a server goes back to the shared one)."""
        with self._swap_lock:
            if scope is None:
                if engine is None:
                    raise ValueError("the shared stories always have an engine")
                self._shared = engine
            elif engine is None:
                self._guilds.pop(scope, None)
            else:
                self._guilds[scope] = engine

    # -- opening and rebuilding -----------------------------------------------------------------

    def open_guilds(self, *, build: str = "if-needed") -> None:
        """Load an engine for every server with stories of its own on disk.

        A server whose stories do not build keeps its last index (the reason is logged); without one it
        is served the shared stories until its stories are fixed.
        """
        config = self.config
        if config is None:
            return
        for guild in guilds_with_stories(config.corpus_dir):
            guild_config = scope_config(config, guild)
            try:
                engine = Engine.open(guild_config, build=build, like=self._shared)
            except StorybotError as exc:
                log.error("Server %s's stories did not build (%s); trying its last index", guild, exc)
                try:
                    engine = Engine.open(guild_config, build="never", like=self._shared)
                except StorybotError:
                    log.error("Server %s has no usable index: it is served the shared stories for now", guild)
                    continue
            self.swap(guild, engine)
        if self._guilds:
            log.info("Serving %d server(s) with stories of their own", len(self._guilds))

    def rebuild(self, scope: Scope, *, progress: bool = False) -> Rebuild:
        """Rebuild a scope from the stories on disk and swap it in; the shared scope takes every server's along
        (they hold the shared stories too). Raises StorybotError when the scope's own build fails."""
        with self.changing:
            return self._rebuild(check_scope(scope), progress=progress)

    def _rebuild(self, scope: Scope, *, progress: bool = False) -> Rebuild:
        if scope is not None:
            return Rebuild(scope, self._rebuild_guild(scope, progress=progress))
        engine, report = self._shared.rebuilt(progress=progress)
        self.swap(None, engine)
        config = self.config
        on_disk = guilds_with_stories(config.corpus_dir) if config is not None else []
        rebuilt, failed = 0, []
        for guild in sorted(set(self._guilds) | set(on_disk)):
            try:
                rebuilt += self._rebuild_guild(guild, progress=progress) is not None
            except StorybotError as exc:  # that server keeps its previous index; the others go on
                log.warning("Server %s's index was not rebuilt: %s", guild, exc)
                failed.append(f"server {guild}: {exc}")
        return Rebuild(None, report, rebuilt, tuple(failed))

    def _rebuild_guild(self, guild: int, *, progress: bool = False) -> BuildReport | None:
        config = self.config
        if config is None:
            raise StorybotError("this engine has no corpus folder to rebuild a server's stories from")
        if not has_own_stories(config.corpus_dir, guild):
            self.swap(guild, None)
            return None
        current = self._guilds.get(guild)
        if current is not None:
            engine, report = current.rebuilt(progress=progress)
        else:
            guild_config = scope_config(config, guild)
            report = build_index(guild_config, self._shared.embedder, progress=progress)
            engine = self._shared.sibling(guild_config, load_generation(report.path))
        self.swap(guild, engine)
        return report

    # -- changing stories -----------------------------------------------------------------------

    def add_story(self, scope: Scope, text: str) -> StoryChange:
        """Store `text` (a story as `render_story` makes it) in the scope, as a new story or as the update of the
        one with its title, then rebuild; nothing stays written when the rebuild fails."""
        with self.changing:
            scope = check_scope(scope)
            config, corpus = self._scope_corpus(scope)
            current = read_own_files(config.corpus_dir, corpus, scope)
            elsewhere = titles_of_guilds(config.corpus_dir) if scope is None else None
            folder = own_dir(config.corpus_dir, scope)
            names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
            edit = plan_add(corpus, scope, text, current=current, elsewhere=elsewhere, names_on_disk=names)
            if edit.action == "unchanged":
                return StoryChange(edit, None)
            return StoryChange(edit, self._apply(config, edit, current))

    def remove_story(self, scope: Scope, name: str) -> StoryChange:
        """Remove the scope's story called `name` (title or file), then rebuild; undone when the rebuild fails."""
        with self.changing:
            scope = check_scope(scope)
            config, corpus = self._scope_corpus(scope)
            current = read_own_files(config.corpus_dir, corpus, scope)
            edit = plan_remove(corpus, scope, name, current)
            return StoryChange(edit, self._apply(config, edit, current))

    def stories_of(self, scope: Scope) -> Corpus:
        """The stories a scope is served, as they are on disk now."""
        return self._scope_corpus(check_scope(scope))[1]

    def _scope_corpus(self, scope: Scope) -> tuple[EngineConfig, Corpus]:
        config = self.config
        if config is None:
            raise StorybotError("this engine has no corpus folder to change stories in")
        guild_config = scope_config(config, scope)
        return config, load_corpus(guild_config.corpus_dir, own_dir=guild_config.own_stories_dir)

    def _apply(self, config: EngineConfig, edit: Edit, current: dict[str, bytes]) -> Rebuild:
        undo = apply(config.corpus_dir, edit, current)
        try:
            rebuild = self._rebuild(edit.scope)
        except BaseException:
            log.warning("The rebuild after changing %s failed; the change is undone", scope_label(edit.scope))
            undo()
            raise
        story = edit.story
        log.info("%s “%s” (%s) in %s", edit.action.capitalize(), story.title, story.file, scope_label(edit.scope))
        return rebuild
