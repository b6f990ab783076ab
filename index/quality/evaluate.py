"""Answer quality on QA data (SQuAD-derived story sets): the figures behind `storybot eval`.

The runner builds one in-memory engine per story, asks each question of its own story (and of
the next story, for off-story abstention), optionally of all stories pooled in one corpus, and
summarises with the pure metrics of `index.quality.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from index.corpus.stories import Corpus
from index.embedding.embedder import Embedder
from index.engine import Engine
from index.errors import QuestionError
from index.heads import Heads
from index.quality.metrics import (
    Outcome,
    abstention_metrics,
    judge,
    offstory_metrics,
    per_story,
    retrieval_metrics,
    spread_seconds,
    timing_metrics,
)
from index.quality.qa import QAQuestion, QASet
from index.quality.report import BASELINES
from index.retrieval.scorer import Scorer, load_scorer
from index.types import Answer

MODES = ("own", "pooled", "both")


# -- running the engine -----------------------------------------------------------------------

Progress = Callable[[str], None]


def select_questions(qa: QASet, max_questions: int | None) -> QASet:
    """At most `max_questions`, evenly spaced through the file so every story keeps some."""
    n = len(qa.questions)
    if not max_questions or max_questions >= n:
        return qa
    picked = tuple(qa.questions[(i * n) // max_questions] for i in range(max_questions))
    return replace(qa, questions=picked)


def _as_answer(result: Answer | QuestionError, question: str, threshold: float) -> Answer:
    """A question the engine rejects (empty, too long) counts as refused with no quotes."""
    if isinstance(result, Answer):
        return result
    return Answer(question, (), 0.0, threshold, "", 0.0)


def ask_all(engine: Engine, questions: Sequence[QAQuestion], k: int = 3) -> tuple[list[Outcome], float]:
    """Ask a batch of questions of one engine (one embedding pass); outcomes and wall seconds."""
    if not questions:
        return [], 0.0
    started = time.perf_counter()
    results = engine.answer_many([q.question for q in questions], k=k)
    wall = time.perf_counter() - started
    answers = [_as_answer(r, q.question, engine.scorer.threshold) for r, q in zip(results, questions)]
    cumulative: list[float] = []
    for a in answers:
        cumulative.append(max(a.seconds, cumulative[-1] if cumulative else 0.0))
    return [judge(q, a, s) for q, a, s in zip(questions, answers, spread_seconds(cumulative))], wall


class StoryVectorCache(Embedder):
    """Remembers the vectors of story texts so the pooled index reuses the per-story ones.

    Only texts embedded while `remembering` (index builds) are kept; questions always go to
    the model, so the seconds per question stay honest.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.remembering = False
        self._vectors: dict[str, np.ndarray] = {}

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_batch(texts)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not self.remembering:
            return self.inner.embed(texts, batch_size=batch_size, progress=progress)
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            fresh = self.inner.embed(missing, batch_size=batch_size, progress=progress)
            self._vectors.update(zip(missing, fresh))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self._vectors[text]
        return out


@dataclass
class _Clock:
    build: float = 0.0
    answer: float = 0.0


def _engine(corpus: Corpus, embedder: Embedder, scorer: Scorer, clock: _Clock, heads: Heads) -> Engine:
    """An in-memory engine; with a StoryVectorCache, the story texts' vectors are remembered."""
    started = time.perf_counter()
    cache = embedder if isinstance(embedder, StoryVectorCache) else None
    if cache:
        cache.remembering = True
    try:
        engine = Engine.from_corpus(corpus, embedder, scorer=scorer, heads=heads)
    finally:
        if cache:
            cache.remembering = False
    clock.build += time.perf_counter() - started
    return engine


def run_own(
    qa: QASet, embedder: Embedder, scorer: Scorer, heads: Heads, progress: Progress | None = None
) -> dict[str, Any]:
    """Each question asked of its own story; each answerable one also of the next story by title."""
    titles = sorted(qa.stories)
    by_title: dict[str, list[QAQuestion]] = {t: [] for t in titles}
    for q in qa.questions:
        by_title[q.title].append(q)
    clock = _Clock()
    own: list[Outcome] = []
    off: list[Outcome] = []
    for i, title in enumerate(titles):
        built_before = clock.build
        engine = _engine(qa.corpus_of(title), embedder, scorer, clock, heads)
        outcomes, wall = ask_all(engine, by_title[title])
        clock.answer += wall
        own += outcomes
        if len(titles) > 1:
            # This story is the "next story by title" of the previous one (wrapping around).
            previous = titles[i - 1]
            off_outcomes, _ = ask_all(engine, [q for q in by_title[previous] if not q.impossible])
            off += off_outcomes
        if progress:
            progress(
                f"[{i + 1}/{len(titles)}] {title}: indexed in {clock.build - built_before:.1f} s, {len(outcomes)} "
                f"questions in {wall:.1f} s"
            )
    return {
        **retrieval_metrics(own),
        **abstention_metrics(own),
        **offstory_metrics(own, off),
        **timing_metrics(own, clock.build, clock.answer),
        "per_story": per_story(own),
    }


def run_pooled(
    qa: QASet, embedder: Embedder, scorer: Scorer, heads: Heads, progress: Progress | None = None
) -> dict[str, Any]:
    """Every story in one corpus, as the bot sees a real corpus; every question asked of it all."""
    clock = _Clock()
    engine = _engine(qa.pooled(), embedder, scorer, clock, heads)
    if progress:
        progress(
            f"pooled: indexed {len(qa.stories)} stories in {clock.build:.1f} s; asking {len(qa.questions)} questions"
        )
    outcomes, clock.answer = ask_all(engine, qa.questions)
    return {
        **retrieval_metrics(outcomes),
        **abstention_metrics(outcomes),
        **timing_metrics(outcomes, clock.build, clock.answer),
    }


def evaluate(
    qa: QASet,
    embedder: Embedder,
    *,
    mode: str = "own",
    scorer: Scorer | None = None,
    heads: Heads | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole report as plain data (what `storybot eval --json` prints).

    `heads`: the reranker and reader to answer with (none: the first stage alone, no marks but dates)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    scorer = scorer or load_scorer()
    heads = heads or Heads()
    started = time.perf_counter()
    cache = StoryVectorCache(embedder)
    report: dict[str, Any] = {
        "set": qa.name,
        "stories": len(qa.stories),
        "questions": len(qa.questions),
        "answerable": sum(1 for q in qa.questions if not q.impossible),
        "impossible": sum(1 for q in qa.questions if q.impossible),
        "mode": mode,
        "model": embedder.model_id,
        "threshold": scorer.threshold,
        "scorer": scorer.meta.get("trained_on", ""),
        "reranker": heads.reranker.spec.fingerprint if heads.reranker else "off",
        "reader": heads.reader.spec.fingerprint if heads.reader else "off",
    }
    if mode in ("own", "both"):
        report["own"] = run_own(qa, cache, scorer, heads, progress)
    if mode in ("pooled", "both"):
        report["pooled"] = run_pooled(qa, cache, scorer, heads, progress)
    report["total_seconds"] = time.perf_counter() - started
    report["baselines"] = BASELINES.get(qa.name, {})
    return report
