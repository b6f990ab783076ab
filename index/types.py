"""Small result types shared by the engine, the CLI and the bot.

Every quote carries its provenance (story, file, paragraph, span) fixed at index time, so a
front end never retypes story text: it slices the stored paragraph.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quote:
    """A verbatim passage: ``paragraph_text[start:end]`` of one paragraph of one story."""

    text: str
    story: str
    file: str
    paragraph: int  # 1-based, as a reader counts
    start: int
    end: int
    score: float
    source: str | None = None  # the story's source URL, when its header gives one

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "story": self.story,
            "file": self.file,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 6),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """What the engine says to a question: ranked quotes and whether it is sure enough."""

    question: str
    quotes: tuple[Quote, ...]
    confidence: float
    threshold: float
    corpus_hash: str
    seconds: float = 0.0

    @property
    def answered(self) -> bool:
        return bool(self.quotes) and self.confidence >= self.threshold

    def to_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answered": self.answered,
            "confidence": round(self.confidence, 6),
            "threshold": round(self.threshold, 6),
            "quotes": [q.to_json() for q in self.quotes],
            "corpus_hash": self.corpus_hash,
            "seconds": round(self.seconds, 6),
        }


@dataclass(frozen=True, slots=True)
class StorySummary:
    """One story as /story and `index info` show it."""

    title: str
    file: str
    paragraphs: int
    sentences: int
    source: str | None = None


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """The manifest of a built index, plus whether the corpus changed since."""

    path: str
    model: str
    dimension: int
    format_version: int
    corpus_hash: str
    built_at: str
    stories: tuple[StorySummary, ...]
    paragraphs: int
    sentences: int
    index_kind: str
    stale: bool | None = None  # None when the corpus folder could not be read
