"""The library of engines without Discord or the real model: scopes on disk, incremental builds, swaps, undo.

A fast hash embedder stands in for the model; what is checked is which stories each scope holds,
what is embedded again, and that a failed change leaves disk and engines as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import Engine, EngineConfig, build_index, load_corpus
from index.batching import MicroBatcher
from index.corpus.extract import render_story
from index.corpus.scopes import guilds_with_stories, has_own_stories, is_own
from index.errors import CorpusError, IndexStoreError, StoryRefused
from index.library import Library, config_for_guild, scope_config
from index.types import Answer
from tests.doubles import HashEmbedder
from tests.helpers import write_story

A, B = 811111111111111111, 822222222222222222


def story_text(title: str, *paragraphs: str, source: str | None = None) -> str:
    return render_story(list(paragraphs), title=title, source=source)


@pytest.fixture
def shared_config(tmp_path: Path, hash_embedder: HashEmbedder) -> EngineConfig:
    corpus = tmp_path / "corpus"
    write_story(corpus, "harbour.txt", "The harbour reopened on Monday after the storm.\n", title="Harbour reopens")
    write_story(corpus, "school.md", "The new school has 400 pupils.\n", title="A new school")
    config = EngineConfig(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(config, hash_embedder)
    return config


@pytest.fixture
def library(shared_config: EngineConfig, hash_embedder: HashEmbedder) -> Library:
    return Library.open(shared_config, build="never", embedder=hash_embedder)


def titles(engine: Engine) -> set[str]:
    return {s.title for s in engine.stories}


def test_the_shared_corpus_skips_the_servers_folders_and_a_server_reads_both(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_story(corpus, "shared.txt", "Shared text.\n", title="Shared")
    write_story(corpus / "guilds" / str(A), "own.txt", "Own text.\n", title="Own")
    write_story(corpus / "guilds" / "not-a-server", "x.txt", "Ignored.\n", title="Ignored")
    write_story(
        corpus / "topics" / "guilds", "deep.txt", "Deeper.\n", title="Deep"
    )  # only the top `guilds/` is special
    assert {s.file for s in load_corpus(corpus).stories} == {"shared.txt", "topics/guilds/deep.txt"}
    both = load_corpus(corpus, own_dir=corpus / "guilds" / str(A))
    assert {s.file for s in both.stories} == {"shared.txt", "topics/guilds/deep.txt", f"guilds/{A}/own.txt"}
    assert load_corpus(corpus, own_dir=corpus / "guilds" / str(B)) == load_corpus(corpus)  # no folder: shared only
    assert guilds_with_stories(corpus) == [A] and has_own_stories(corpus, A) and not has_own_stories(corpus, B)
    assert is_own(f"guilds/{A}/own.txt", A) and not is_own(f"guilds/{A}/own.txt", B)
    assert is_own("topics/guilds/deep.txt", None) and not is_own(f"guilds/{A}/own.txt", None)

    write_story(corpus / "guilds" / str(A), "dup.txt", "Again.\n", title="shared")
    with pytest.raises(CorpusError, match=f"guilds/{A}/dup.txt: has the same title as shared.txt"):
        load_corpus(corpus, own_dir=corpus / "guilds" / str(A))

    config = EngineConfig(corpus_dir=corpus, index_dir=tmp_path / "index")
    assert config_for_guild(config, B) == config == scope_config(config, None)
    own = config_for_guild(config, A)
    assert own.index_dir == tmp_path / "index" / "guilds" / str(A) and own.shared_index_dir == config.index_dir
    with pytest.raises(CorpusError, match="not a server id"):
        scope_config(config, -1)


def test_a_servers_story_is_served_only_there_and_only_its_text_is_embedded(
    library: Library, shared_config: EngineConfig, hash_embedder: HashEmbedder
) -> None:
    shared = library.shared
    hash_embedder.texts_embedded = 0
    change = library.add_story(A, story_text("Zoo panda", "The zoo named its panda Bao Bao.", "It eats bamboo."))
    assert change.edit.action == "add" and change.edit.story.file == f"guilds/{A}/zoo-panda.txt"
    assert change.rebuild is not None and change.rebuild.report is not None
    assert change.rebuild.report.embedded == hash_embedder.texts_embedded == 2  # the new sentences only
    own = library.own_engine(A)
    assert own is not None and library.engine_for(A) is own and library.guilds == (A,)
    assert titles(own) == {"Harbour reopens", "A new school", "Zoo panda"}
    assert library.engine_for(B) is shared is library.engine_for(None) and "Zoo panda" not in titles(shared)
    assert own.embedder is shared.embedder and own.scorer is shared.scorer
    assert (shared_config.index_dir / "guilds" / str(A) / "CURRENT").is_file()

    # The same title again is an update: only the changed paragraph is embedded.
    hash_embedder.texts_embedded = 0
    update = library.add_story(A, story_text("zoo PANDA", "The zoo named its panda Mei Mei.", "It eats bamboo."))
    assert update.edit.action == "update" and update.edit.story.file == f"guilds/{A}/zoo-panda.txt"
    assert hash_embedder.texts_embedded == 1
    replaced = library.own_engine(A)
    assert replaced is not own and replaced is not None
    assert replaced.paragraph_text(f"guilds/{A}/zoo-panda.txt", 1) == "The zoo named its panda Mei Mei."
    same = library.add_story(A, story_text("zoo PANDA", "The zoo named its panda Mei Mei.", "It eats bamboo."))
    assert same.edit.action == "unchanged" and same.rebuild is None and library.own_engine(A) is replaced

    # Removing the last story of its own sends the server back to the shared engine.
    removed = library.remove_story(A, "Zoo Panda")
    assert removed.edit.action == "remove" and removed.rebuild is not None and removed.rebuild.report is None
    assert library.guilds == () and library.engine_for(A) is shared
    assert not (shared_config.corpus_dir / "guilds").exists()


def test_a_shared_change_rebuilds_every_server_and_titles_stay_apart(
    library: Library, shared_config: EngineConfig, hash_embedder: HashEmbedder
) -> None:
    library.add_story(A, story_text("Zoo panda", "The zoo named its panda Bao Bao."))
    with pytest.raises(StoryRefused, match="already the title of a shared story"):
        library.add_story(A, story_text("Harbour reopens", "Another text."))
    with pytest.raises(StoryRefused, match="already the title of another server's story"):
        library.add_story(None, story_text("zoo panda", "Another text."))
    with pytest.raises(StoryRefused, match="is a shared story"):
        library.remove_story(A, "A new school")
    with pytest.raises(StoryRefused, match=f"Server {A} has no story of its own called “../school.md”"):
        library.remove_story(A, "../school.md")

    change = library.add_story(None, story_text("Bridge works", "The bridge closes in May."))
    assert change.edit.story.file == "bridge-works.txt" and change.rebuild is not None
    assert change.rebuild.servers == 1 and not change.rebuild.failed
    own = library.own_engine(A)
    assert own is not None and "Bridge works" in titles(own) and "Bridge works" in titles(library.shared)

    library.remove_story(None, "school.md")  # by its file
    library.remove_story(None, "Bridge works")
    with pytest.raises(StoryRefused, match="the last shared story"):
        library.remove_story(None, "Harbour reopens")


def test_a_failed_rebuild_writes_nothing_and_keeps_the_engine(
    library: Library, shared_config: EngineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    library.add_story(A, story_text("Zoo panda", "The zoo named its panda Bao Bao."))
    library.add_story(A, story_text("Second", "A second story of A's own."))
    serving, shared = library.own_engine(A), library.shared
    stored = shared_config.corpus_dir / "guilds" / str(A) / "zoo-panda.txt"
    before = stored.read_bytes()

    def broken(self: Engine, **kwargs: Any) -> Any:
        raise IndexStoreError("the disk is full")

    monkeypatch.setattr(Engine, "rebuilt", broken)
    with pytest.raises(IndexStoreError):
        library.add_story(A, story_text("Zoo panda", "A corrected text."))
    with pytest.raises(IndexStoreError):
        library.add_story(A, story_text("New one", "Another story."))
    with pytest.raises(IndexStoreError):
        library.remove_story(A, "Zoo panda")
    with pytest.raises(IndexStoreError):
        library.add_story(None, story_text("Shared one", "A shared story."))
    assert stored.read_bytes() == before
    assert sorted(p.name for p in stored.parent.iterdir()) == ["second.txt", "zoo-panda.txt"]
    assert not (shared_config.corpus_dir / "shared-one.txt").exists()
    assert library.own_engine(A) is serving and library.shared is shared


def test_a_hand_written_markdown_story_is_updated_as_a_stored_one(
    library: Library, shared_config: EngineConfig
) -> None:
    change = library.add_story(None, story_text("A NEW SCHOOL", "The new school has 420 pupils."))
    assert change.edit.action == "update" and change.edit.story.file == "a-new-school.txt"
    assert not (shared_config.corpus_dir / "school.md").exists()
    assert library.shared.paragraph_text("a-new-school.txt", 1) == "The new school has 420 pupils."


def test_servers_with_stories_on_disk_get_an_engine_at_start(
    shared_config: EngineConfig, hash_embedder: HashEmbedder
) -> None:
    write_story(shared_config.corpus_dir / "guilds" / str(A), "own.txt", "A's own text.\n", title="Own")
    write_story(shared_config.corpus_dir / "guilds" / str(B), "bad.txt", "Clash.\n", title="Harbour reopens")
    library = Library.open(shared_config, build="if-needed", embedder=hash_embedder)
    assert library.guilds == (A,)  # B's story clashes with a shared title: B is served the shared stories
    assert library.scope_of(A) == A and library.scope_of(B) == B and library.scope_of(None) is None
    assert library.engine_for(B) is library.shared


def test_questions_for_different_engines_never_share_a_batch() -> None:
    class Named:
        def __init__(self, name: str) -> None:
            self.name = name
            self.batches: list[list[str]] = []

        def answer_many(self, questions: list[str], *, k: int = 3, histories: Any = None) -> list[Answer]:
            self.batches.append(list(questions))
            return [Answer(f"{self.name}:{q}", (), 0.0, 0.5, self.name) for q in questions]

    default, other = Named("shared"), Named("server")
    with MicroBatcher(default, max_wait=0.05) as batcher:  # type: ignore[arg-type]
        futures = [batcher.submit("one"), batcher.submit("two", engine=other), batcher.submit("three")]  # type: ignore[arg-type]
        answers = [f.result(timeout=5).question for f in futures]
    assert answers == ["shared:one", "server:two", "shared:three"]
    assert default.batches == [["one", "three"]] and other.batches == [["two"]]
    assert np.array_equal(np.array([len(b) for b in default.batches]), np.array([2]))


async def test_a_paragraph_button_shows_a_servers_story_only_in_that_server(library: Library) -> None:
    from bot.custom_ids import QuoteRef
    from bot.service import STORY_GONE_TEXT, AskService
    from bot.settings import parse_settings

    library.add_story(A, story_text("Zoo panda", "The zoo named its panda Bao Bao."))
    service = AskService(parse_settings({"STORYBOT_COOLDOWN_SECONDS": "0"}))
    service.use_library(library)
    file, text = f"guilds/{A}/zoo-panda.txt", "The zoo named its panda Bao Bao."
    own = library.own_engine(A)
    assert own is not None
    ref = QuoteRef.of(0, file, paragraph=1, start=0, end=len(text), text=text, corpus_hash=own.corpus_hash)
    shown = service.paragraph(ref, A)
    assert not isinstance(shown, str) and "Bao Bao" in shown.description
    assert service.paragraph(ref, B) == service.paragraph(ref, None) == STORY_GONE_TEXT
    answer = await service.answer("What did the zoo name its panda?", user_id=1, via="slash", guild_id=B)
    assert answer.answer is not None and all(not q.file.startswith("guilds/") for q in answer.answer.quotes)
    answer = await service.answer("What did the zoo name its panda?", user_id=1, via="slash", guild_id=A)
    assert answer.answer is not None and answer.answer.quotes[0].file == file
    await service.close()
