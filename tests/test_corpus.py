from __future__ import annotations

from pathlib import Path

import pytest

from index.corpus.stories import load_corpus, parse_story
from index.errors import CorpusError
from tests.helpers import write_story


def test_txt_paragraphs_are_non_empty_lines_numbered_after_front_matter() -> None:
    story = parse_story(b"---\ntitle: Storm\nsource: https://example.org/a\n---\nFirst.\n\n  Second.  \n", "a.txt")
    assert story.title == "Storm"
    assert story.source == "https://example.org/a"
    assert story.paragraphs == ("First.", "Second.")


def test_bom_and_crlf_are_accepted() -> None:
    story = parse_story("\ufeff---\r\ntitle: Café\r\n---\r\nOne.\r\nTwo.\r\n".encode(), "b.txt")
    assert story.title == "Café"
    assert story.paragraphs == ("One.", "Two.")


def test_markdown_joins_wrapped_lines_and_splits_on_blank_lines() -> None:
    story = parse_story(b"First line\nwraps here.\n\nSecond paragraph.\n", "c.md")
    assert story.paragraphs == ("First line wraps here.", "Second paragraph.")


def test_title_falls_back_to_file_name() -> None:
    assert parse_story(b"Text.", "city_council-vote.txt").title == "city council vote"


def test_quoted_front_matter_values_keep_inner_quotes() -> None:
    story = parse_story(b'---\ntitle: "He said \\"no\\""\nauthor: \'Jo\'\n---\nText.\n', "q.txt")
    assert story.title == 'He said "no"'
    assert story.author == "Jo"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (b"---\ntitle: x\n---\n\n\n", "empty"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"---\ntitle: never closed\nText.\n", "never closed"),
        (b"text\x00with nul", "NUL"),
    ],
)
def test_bad_files_stop_with_the_file_named(data: bytes, problem: str) -> None:
    with pytest.raises(CorpusError, match=rf"^bad\.txt: .*{problem}"):
        parse_story(data, "bad.txt")


def test_loader_skips_readme_hidden_and_other_files(tmp_path: Path) -> None:
    write_story(tmp_path, "story.txt", "Text.")
    write_story(tmp_path, "README.md", "Not a story.")
    write_story(tmp_path, ".hidden.txt", "Not a story.")
    write_story(tmp_path / ".git", "x.txt", "Not a story.")
    write_story(tmp_path, "notes.json", "{}")
    corpus = load_corpus(tmp_path)
    assert [s.file for s in corpus.stories] == ["story.txt"]


def test_stories_in_subfolders_keep_their_relative_path(tmp_path: Path) -> None:
    write_story(tmp_path / "2017", "a.txt", "Text.", title="A")
    assert load_corpus(tmp_path).stories[0].file == "2017/a.txt"


def test_duplicate_titles_are_refused(tmp_path: Path) -> None:
    write_story(tmp_path, "a.txt", "One.", title="Same")
    write_story(tmp_path, "b.txt", "Two.", title="same")
    with pytest.raises(CorpusError, match=r"b\.txt: has the same title as a\.txt"):
        load_corpus(tmp_path)


def test_empty_or_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no stories found"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")


def test_an_oversized_story_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("index.corpus.stories.MAX_STORY_BYTES", 10)
    write_story(tmp_path, "big.txt", "x" * 11)
    with pytest.raises(CorpusError, match=r"big\.txt: 11 bytes is larger"):
        load_corpus(tmp_path)


def test_content_hash_changes_with_text_only(tmp_path: Path) -> None:
    write_story(tmp_path, "a.txt", "One.", title="A")
    first = load_corpus(tmp_path).content_hash
    assert load_corpus(tmp_path).content_hash == first
    write_story(tmp_path, "a.txt", "One!", title="A")
    assert load_corpus(tmp_path).content_hash != first


def test_bundled_story_keeps_its_fourteen_paragraphs_verbatim() -> None:
    from tests.helpers import BUNDLED_CORPUS

    corpus = load_corpus(BUNDLED_CORPUS)
    (story,) = corpus.stories
    assert len(story.paragraphs) == 14
    assert story.paragraphs[4].startswith("Commissioner O'Neill spoke next")
