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
    answer_start: int | None = None  # the answer words, as paragraph offsets inside [start, end),
    answer_end: int | None = None  # marked only when the engine is sure of them

    @property
    def answer_span(self) -> tuple[int, int] | None:
        """The marked answer words as offsets into `text`, or None."""
        if self.answer_start is None or self.answer_end is None:
            return None
        return self.answer_start - self.start, self.answer_end - self.start

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
            "answer_start": self.answer_start,
            "answer_end": self.answer_end,
        }


ANSWERED = "answered"
UNSURE = "unsure"
NOT_IN_STORY = "not_in_story"
OUTCOMES = (ANSWERED, UNSURE, NOT_IN_STORY)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the engine says to a question: the quotes, and how sure it is that they answer.

    `outcome` is `answered` (the first quote answers it), `unsure` (the closest passages, which
    may not answer exactly) or `not_in_story` (nothing in the stories is about it).
    """

    question: str
    quotes: tuple[Quote, ...]
    confidence: float
    threshold: float
    corpus_hash: str
    seconds: float = 0.0
    relevance: float = 1.0
    floor: float = 0.0

    @property
    def outcome(self) -> str:
        if not self.quotes or self.relevance < self.floor:
            return NOT_IN_STORY
        return ANSWERED if self.confidence >= self.threshold else UNSURE

    @property
    def answered(self) -> bool:
        return self.outcome == ANSWERED

    def to_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "outcome": self.outcome,
            "answered": self.answered,
            "confidence": round(self.confidence, 6),
            "threshold": round(self.threshold, 6),
            "relevance": round(self.relevance, 6),
            "floor": round(self.floor, 6),
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
