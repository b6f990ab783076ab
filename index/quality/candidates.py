"""Each dev question's best candidates under the first stage: what the trained heads learn from.

For every question of a QA set, asked of its own story (and, for the judge, answerable ones also
of the next story by title), the first stage's `top` candidates best first, with their sentence
texts, first-stage scores and features, the evidence the judge reads, and which one (if any)
holds the gold answer. Candidates are ranked by the shipped first-stage scorer, exactly as the
engine ranks them before the reranker rereads them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.embedding.embedder import Embedder
from index.engine import Engine
from index.quality.qa import QAQuestion, QASet
from index.retrieval.features import ranked_rows
from index.retrieval.rerank import reread_rows
from index.retrieval.scorer import Scorer


@dataclass(frozen=True, slots=True)
class Asked:
    """One question asked of one story, with the first stage's best candidates."""

    question: QAQuestion
    story: str  # the title of the story asked (the question's own, or another for an off-story pair)
    texts: tuple[str, ...]  # candidate sentences, best first
    first_stage: np.ndarray  # (candidates,) first-stage scores
    features: np.ndarray  # (candidates, RANK_FEATURES)
    evidence: np.ndarray  # (candidates, EVIDENCE)
    question_level: np.ndarray  # (2,)
    gold: int  # index into texts of the sentence holding the answer, -1 if none does (or off-story)

    @property
    def own(self) -> bool:
        return self.story == self.question.title

    @property
    def answerable(self) -> bool:
        return self.own and not self.question.impossible


def fold_of(title: str, folds: int = 2) -> int:
    """A story's fold, fixed by its title (the data's own split rule, on another part of the hash)."""
    return int(hashlib.sha256(title.encode("utf-8")).hexdigest()[8:16], 16) % folds


def ask_candidates(qa: QASet, embedder: Embedder, scorer: Scorer, *, top: int, off_story: bool = False) -> list[Asked]:
    """Every question of `qa` asked of its story (and answerable ones of the next story, with `off_story`)."""
    titles = sorted(qa.stories)
    asked: dict[str, list[QAQuestion]] = {t: [] for t in titles}
    for q in qa.questions:
        asked[q.title].append(q)
        if off_story and not q.impossible and len(titles) > 1:
            asked[titles[(titles.index(q.title) + 1) % len(titles)]].append(q)
    texts = list(dict.fromkeys(" ".join(q.question.split()) for q in qa.questions))
    vectors = dict(zip(texts, embedder.embed(texts, batch_size=128)))
    out: list[Asked] = []
    for title in titles:
        if asked[title]:
            engine = Engine.from_corpus(qa.corpus_of(title), embedder, scorer=scorer)
            out += _ask_story(engine, title, asked[title], vectors, top)
    return out


def _ask_story(
    engine: Engine, title: str, questions: Sequence[QAQuestion], vectors: dict[str, np.ndarray], top: int
) -> list[Asked]:
    asked_as = [" ".join(q.question.split()) for q in questions]
    batch = engine.retriever.candidates(asked_as, np.vstack([vectors[a] for a in asked_as]))
    scores = engine.scorer.rank_scores(batch.features)
    rows = reread_rows(ranked_rows(scores, batch.offsets), batch.offsets, top)
    owner = batch.question_of[rows]
    evidence = engine.retriever.evidence(batch, rows)
    sentences = engine.data.sentences
    out = []
    for q, question in enumerate(questions):
        mine = np.nonzero(owner == q)[0]
        ids = batch.ids[rows[mine]]
        gold = -1
        if question.title == title and question.answer_start is not None:
            hits = [
                i
                for i, sid in enumerate(ids)
                if sentences[sid, 1] == question.paragraph - 1
                and sentences[sid, 2] <= question.answer_start < sentences[sid, 3]
            ]
            gold = hits[0] if hits else -1
        out.append(
            Asked(
                question,
                title,
                tuple(engine.retriever.sentence_text(int(i)) for i in ids),
                scores[rows[mine]].astype(np.float32),
                batch.features[rows[mine]],
                evidence[mine],
                batch.question_level[q],
                gold,
            )
        )
    return out
