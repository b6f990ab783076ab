"""Reading question-answering data in the format of SQuAD-derived story sets.

A set is two JSON Lines files: `<split>_stories.jsonl` (title, paragraphs, sentence_spans) and
`<split>_questions.jsonl` (question, title, is_impossible, paragraph_index 0-based,
answers, answer_start, gold_sentence_certain). Used by evaluation and training only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.corpus.stories import Corpus, Story
from index.errors import StorybotError


@dataclass(frozen=True, slots=True)
class QAQuestion:
    id: str
    title: str
    question: str
    impossible: bool
    paragraph: int  # 1-based, as storybot counts
    answers: tuple[str, ...]
    answer_start: int | None
    certain: bool


@dataclass(frozen=True, slots=True)
class QASet:
    name: str
    stories: dict[str, Story]  # by title
    questions: tuple[QAQuestion, ...]

    def corpus_of(self, title: str) -> Corpus:
        return Corpus((self.stories[title],))

    def pooled(self) -> Corpus:
        return Corpus(tuple(self.stories.values()))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except OSError as exc:
        raise StorybotError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise StorybotError(f"{path}: line {exc.lineno} is not JSON") from None


def find_split_files(path: Path, split: str | None = None) -> tuple[Path, Path]:
    """Accept a stories file, a questions file, or a folder with `<split>_*.jsonl`."""
    if path.is_file():
        stem = path.name.replace("_questions.jsonl", "").replace("_stories.jsonl", "")
        return path.with_name(f"{stem}_stories.jsonl"), path.with_name(f"{stem}_questions.jsonl")
    split = split or "dev"
    return path / f"{split}_stories.jsonl", path / f"{split}_questions.jsonl"


def load_qa_set(path: Path, split: str | None = None, *, limit_stories: int | None = None) -> QASet:
    stories_path, questions_path = find_split_files(path, split)
    for p in (stories_path, questions_path):
        if not p.is_file():
            raise StorybotError(f"{p}: not found (expected <split>_stories.jsonl and <split>_questions.jsonl)")
    stories: dict[str, Story] = {}
    for raw in _read_jsonl(stories_path):
        title = str(raw["title"])
        stories[title] = Story(
            title=title.replace("_", " "), file=f"{title}.txt", paragraphs=tuple(str(p) for p in raw["paragraphs"])
        )
        if limit_stories and len(stories) >= limit_stories:
            break
    questions = []
    for raw in _read_jsonl(questions_path):
        if raw["title"] not in stories:
            continue
        questions.append(
            QAQuestion(
                id=str(raw["id"]),
                title=str(raw["title"]),
                question=str(raw["question"]),
                impossible=bool(raw.get("is_impossible", False)),
                paragraph=int(raw["paragraph_index"]) + 1,
                answers=tuple(str(a) for a in raw.get("answers") or ()),
                answer_start=None if raw.get("answer_start") is None else int(raw["answer_start"]),
                certain=bool(raw.get("gold_sentence_certain")),
            )
        )
    return QASet(
        name=f"{stories_path.parent.name}/{stories_path.name.split('_')[0]}",
        stories=stories,
        questions=tuple(questions),
    )
