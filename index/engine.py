"""The one entry point front ends use: open an index, answer questions, rebuild.

`Engine.answer(question)` is Discord-free and blocking (tens of milliseconds); the bot runs it
off its event loop, the CLI calls it directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

import numpy as np

from index.config import EngineConfig
from index.corpus.sentences import SPLITTER_VERSION
from index.corpus.stories import Corpus, load_corpus
from index.embedding.embedder import Embedder, resolve_model
from index.embedding.runtime import load_embedder
from index.errors import CorpusError, IndexMissingError, QuestionError
from index.heads import Heads, load_heads
from index.retrieval.answer_marks import mark_answer
from index.retrieval.chat_markup import strip_chat_markup
from index.retrieval.compose import ADD_MARGIN, Span, arrange, compose_ranked
from index.retrieval.features import EVIDENCE, best_rows, confidence_features, cross_evidence, ranked_rows
from index.retrieval.follow_up import context_for, switches_subject
from index.retrieval.query import CandidateBatch
from index.retrieval.question_mark import as_question
from index.retrieval.rerank import final_scores, rerank_features, reread_rows
from index.retrieval.retriever import Retriever
from index.retrieval.scorer import Scorer, SecondStage, load_scorer
from index.retrieval.spelling import Speller
from index.store.build import BuildReport, build_in_memory, build_index
from index.store.generations import IndexData, StoredStory, check_model, current_generation, load_generation
from index.types import ANSWERED, Answer, IndexInfo, Quote, StorySummary

log = logging.getLogger(__name__)

CONTEXT_WEIGHT = 0.5
"""How much an earlier question pulls the vector of a follow-up that points back at it."""
SWITCH_CONTEXT_WEIGHT = 0.25
"""Less for "what about X": the earlier question lends its frame, X is what is asked."""


def check_question(question: object, max_chars: int) -> str:
    """The question as it will be asked (chat markup removed), or a QuestionError saying why it cannot be."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    if len(question) > 8 * max_chars:
        raise QuestionError(f"the question is {len(question)} characters long; ask in at most {max_chars}")
    cleaned = " ".join(strip_chat_markup(question.replace("\x00", " ")).split())
    if not cleaned:
        raise QuestionError("the question is empty")
    if len(cleaned) > max_chars:
        raise QuestionError(f"the question is {len(cleaned)} characters long; ask in at most {max_chars}")
    return cleaned


class Engine:
    """A loaded index with its model and scorer, ready to answer."""

    def __init__(
        self,
        config: EngineConfig,
        embedder: Embedder,
        data: IndexData,
        scorer: Scorer | None = None,
        heads: Heads | None = None,
    ) -> None:
        self.config = config
        self.embedder = embedder
        self.data = data
        self.scorer = scorer or load_scorer()
        self.heads = heads or Heads()
        self.second_stage = _second_stage(self.scorer, self.heads)
        self.retriever = Retriever(data)
        self._stories_by_file = {s.file: (i, s) for i, s in enumerate(data.stories)}
        self._sentence_chars = (data.sentences[:, 3] - data.sentences[:, 2]).astype(np.int64)

    def _paragraph_of(self, sentence: int) -> int:
        return int(self.retriever.paragraph_of[sentence])

    def _span_chars(self, first: int, last: int) -> int:
        return int(self.data.sentences[last, 3] - self.data.sentences[first, 2])

    @cached_property
    def speller(self) -> Speller:
        """The stories' names, for repairing questions (made on the first question, not at load)."""
        return Speller.from_texts([text for s in self.data.stories for text in (s.title, *s.paragraphs)])

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        config: EngineConfig,
        *,
        build: str = "if-needed",
        progress: bool = False,
        embedder: Embedder | None = None,
        like: Engine | None = None,
    ) -> Engine:
        """Load the index (building it first when missing or stale, if `build` allows).

        `like`: an engine already loaded whose model and scorer this one shares (see `sibling`).
        """
        if build not in ("if-needed", "never", "always"):
            raise ValueError(f"build must be 'if-needed', 'never' or 'always', not {build!r}")
        embedder = embedder or (like.embedder if like is not None else None)
        model_id = embedder.model_id if embedder else resolve_model(config.model)[0]
        needs_build = build == "always"
        if not needs_build:
            try:
                generation = current_generation(config.index_dir)
            except IndexMissingError:
                if build == "never":
                    raise
                needs_build = True
            else:
                data = load_generation(generation)
                check_model(data.manifest, model_id, generation)
                if build == "if-needed" and _is_stale(data, config):
                    log.info("The corpus changed since the index was built; rebuilding")
                    needs_build = True
        if needs_build:  # a missing or broken corpus is reported before the model loads
            load_corpus(config.corpus_dir, own_dir=config.own_stories_dir)
        embedder = embedder or load_embedder(config, progress=progress)
        heads = like.heads if like is not None else load_heads(config)
        if needs_build:
            report = build_index(config, embedder, progress=progress)
            log.info("Built %d stories, %d sentences in %.1f s", report.stories, report.sentences, report.seconds)
            data = load_generation(report.path)
        return like.sibling(config, data) if like is not None else cls(config, embedder, data, heads=heads)

    @classmethod
    def from_corpus(
        cls,
        corpus: Corpus,
        embedder: Embedder,
        *,
        scorer: Scorer | None = None,
        kind: str | None = None,
        heads: Heads | None = None,
    ) -> Engine:
        """An engine over a corpus held in memory (evaluation and tests); nothing is written."""
        data = build_in_memory(corpus, embedder, kind=kind)
        return cls(EngineConfig(), embedder, data, scorer, heads)

    def rebuilt(self, *, progress: bool = False) -> tuple[Engine, BuildReport]:
        """Rebuild from the corpus with the loaded model; this engine keeps serving meanwhile."""
        report = build_index(self.config, self.embedder, progress=progress)
        return self.sibling(self.config, load_generation(report.path)), report

    def sibling(self, config: EngineConfig, data: IndexData) -> Engine:
        """An engine over another index that shares this one's model and scorer: one of each per process,
        however many indexes (a server's own stories get one) it serves."""
        return Engine(config, self.embedder, data, self.scorer, self.heads)

    # -- answering -----------------------------------------------------------------------

    def answer(self, question: str, *, k: int = 3, context: str | None = None, history: Sequence[str] = ()) -> Answer:
        """`history` (oldest first) or `context` (the one earlier question) make it a follow-up."""
        earlier = list(history) or ([context] if context else [])
        result = self.answer_many([question], k=k, histories=[earlier])[0]
        if isinstance(result, QuestionError):
            raise result
        return result

    def answer_many(
        self,
        questions: Sequence[str],
        *,
        k: int = 3,
        histories: Sequence[Sequence[str]] | None = None,
    ) -> list[Answer | QuestionError]:
        """Answer several questions with one batched forward pass of the model.

        Each question may come with the earlier questions of its conversation (oldest first).
        """
        started = time.perf_counter()
        if histories is None:
            histories = [[] for _ in questions]
        if len(histories) != len(questions):
            raise ValueError("one history per question")
        results: list[Answer | QuestionError | None] = [None] * len(questions)
        asked: list[tuple[int, str, str, str | None]] = []
        limit = self.config.max_question_chars
        for i, (question, history) in enumerate(zip(questions, histories)):
            try:
                cleaned = check_question(question, limit)
            except QuestionError as exc:
                results[i] = exc
                continue
            asked_as = as_question(self.speller.correct(cleaned))
            earlier = [
                as_question(self.speller.correct(" ".join(strip_chat_markup(h).split())[:limit]))
                for h in history[-2:]
                if h.strip()
            ]
            ctx = context_for(asked_as, earlier, self.speller.is_name)
            asked.append((i, cleaned, asked_as, ctx))
        texts = [q for _, _, q, _ in asked] + [c for _, _, _, c in asked if c]
        vectors = self.embedder.embed(texts, batch_size=max(1, len(texts))) if texts else np.zeros((0, 1))
        qvecs = np.zeros((len(asked), vectors.shape[1]), np.float32)
        context_row = len(asked)
        for row, (_, _, asked_as, ctx) in enumerate(asked):
            qvec = vectors[row]
            if ctx:
                weight = SWITCH_CONTEXT_WEIGHT if switches_subject(asked_as) else CONTEXT_WEIGHT
                qvec = qvec + weight * vectors[context_row]
                qvec = qvec / (np.linalg.norm(qvec) or 1.0)
                context_row += 1
            qvecs[row] = qvec
        if asked:
            for (i, _, _, _), answer in zip(asked, self._answer_vectors(asked, qvecs, k, started)):
                results[i] = answer
        return [r for r in results if r is not None]

    def _answer_vectors(
        self, asked: list[tuple[int, str, str, str | None]], qvecs: np.ndarray, k: int, started: float
    ) -> list[Answer]:
        batch = self.retriever.candidates([q for _, _, q, _ in asked], qvecs, [c for _, _, _, c in asked])
        scores = self.scorer.rank_scores(batch.features)
        ranked = ranked_rows(scores, batch.offsets)
        judge, cross = self.scorer.judge, None
        if self.second_stage is not None and len(batch.ids):
            queries = [f"{asked_as} {ctx}" if ctx else asked_as for _, _, asked_as, ctx in asked]
            scores, cross = self._reread(self.second_stage, batch, scores, ranked, queries)
            ranked = ranked_rows(scores, batch.offsets)
            judge = self.second_stage.judge
        top, second = best_rows(scores, batch.offsets, ranked)
        top_evidence = np.zeros((len(top), len(EVIDENCE)), np.float32)
        top_evidence[top >= 0] = self.retriever.evidence(batch, top[top >= 0])
        evidence = confidence_features(batch.features, scores, top, second, top_evidence, batch.question_level)
        if cross is not None:
            evidence = np.column_stack([evidence, cross_evidence(cross, top, batch.offsets)])
        confidences = judge.confidences(evidence)
        relevances = judge.relevances(evidence)
        ids, score_list, order, offsets = batch.ids.tolist(), scores.tolist(), ranked.tolist(), batch.offsets.tolist()
        paragraphs = self.retriever.paragraph_of[batch.ids].tolist()
        chars = self._sentence_chars[batch.ids].tolist()
        spans = []
        for q in range(len(asked)):
            start, end = offsets[q], offsets[q + 1]
            best_first = (row - start for row in order[start:end])
            chosen = compose_ranked(
                ids[start:end], score_list[start:end], best_first, paragraphs[start:end], chars[start:end], max(1, k)
            )
            sure = top[q] >= 0 and confidences[q] >= judge.threshold
            spans.append(arrange(chosen, self._paragraph_of, self._span_chars, ADD_MARGIN if sure else None))
        quotes = iter(self._quotes([span for question in spans for span in question]))
        answers = [
            Answer(
                question,
                tuple(next(quotes) for _ in question_spans),
                float(confidences[q]) if top[q] >= 0 else 0.0,
                judge.threshold,
                self.corpus_hash,
                time.perf_counter() - started,
                float(relevances[q]) if top[q] >= 0 else 0.0,
                judge.floor,
            )
            for q, ((_, question, _, _), question_spans) in enumerate(zip(asked, spans))
        ]
        return self._with_answers_marked(answers, [asked_as for _, _, asked_as, _ in asked])

    def _reread(
        self, stage: SecondStage, batch: CandidateBatch, scores: np.ndarray, ranked: np.ndarray, queries: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The cross-encoder rereads each question's best candidates; the second stage ranks them.

        Returns the final scores and the cross-encoder's logit per row (NaN for rows not reread)."""
        rows = reread_rows(ranked, batch.offsets, stage.candidates)
        owner = batch.question_of[rows]
        reranker = self.heads.reranker
        assert reranker is not None  # a second stage exists only with its reranker
        logits = reranker.score([queries[q] for q in owner], [self.retriever.sentence_text(i) for i in batch.ids[rows]])
        second = stage.ranker.logits(rerank_features(scores, logits, rows, owner))
        cross = np.full(len(scores), np.nan, np.float32)
        cross[rows] = logits
        return final_scores(scores, rows, second), cross

    def _with_answers_marked(self, answers: list[Answer], asked: list[str]) -> list[Answer]:
        """Mark the answer words in each sure answer's first quote, only when the reader is sure of them
        (without a reader: only a lone date answering "when", see `answer_marks`)."""
        sure = [i for i, a in enumerate(answers) if a.outcome == ANSWERED]
        reader = self.heads.reader
        if reader is None:
            found = {i: mark_answer(asked[i], answers[i].quotes[0].text) for i in sure}
        else:
            spans = reader.find([asked[i] for i in sure], [answers[i].quotes[0].text for i in sure])
            found = {
                i: (span.start, span.end) if span is not None and span.margin >= reader.threshold else None
                for i, span in zip(sure, spans)
            }
        out = list(answers)
        for i, mark in found.items():
            if mark is not None:
                first = out[i].quotes[0]
                marked = replace(first, answer_start=first.start + mark[0], answer_end=first.start + mark[1])
                out[i] = replace(out[i], quotes=(marked, *out[i].quotes[1:]))
        return out

    def _quotes(self, spans: list[Span]) -> list[Quote]:
        """Each span's text and citation, its sentences' positions looked up for all spans at once."""
        if not spans:
            return []
        firsts = self.data.sentences[[span.first for span in spans]].tolist()
        ends = self.data.sentences[[span.last for span in spans], 3].tolist()
        quotes = []
        for span, (story_i, para, start, _), end in zip(spans, firsts, ends):
            story = self.data.stories[story_i]
            quotes.append(
                Quote(
                    story.paragraphs[para][start:end],
                    story.title,
                    story.file,
                    para + 1,
                    start,
                    end,
                    span.score,
                    story.source,
                )
            )
        return quotes

    # -- looking things up ---------------------------------------------------------------

    @property
    def corpus_hash(self) -> str:
        return str(self.data.manifest.get("corpus_hash", ""))

    @property
    def stories(self) -> tuple[StorySummary, ...]:
        return story_summaries(self.data)

    def story(self, file: str) -> StorySummary | None:
        for summary in self.stories:
            if summary.file == file:
                return summary
        return None

    def stored_story(self, file: str) -> StoredStory | None:
        found = self._stories_by_file.get(file)
        return found[1] if found else None

    def paragraph_text(self, file: str, paragraph: int) -> str | None:
        story = self.stored_story(file)
        if story is None or not 1 <= paragraph <= len(story.paragraphs):
            return None
        return story.paragraphs[paragraph - 1]

    def is_stale(self) -> bool | None:
        """Has the corpus on disk changed since this index was built? None if unreadable."""
        try:
            return _is_stale(self.data, self.config)
        except CorpusError:
            return None

    def info(self, *, check_stale: bool = True) -> IndexInfo:
        return index_info_of(self.data, self.is_stale() if check_stale else None)


def _second_stage(scorer: Scorer, heads: Heads) -> SecondStage | None:
    """The second stage, if the scorer has one trained with the reranker this process has."""
    stage, reranker = scorer.second, heads.reranker
    if stage is None or reranker is None:
        return None
    if stage.head != reranker.spec.fingerprint:
        log.warning("The scorer's second stage was trained with another reranker; ranking without the reranker")
        return None
    return stage


def _is_stale(data: IndexData, config: EngineConfig) -> bool:
    if data.manifest.get("splitter") != SPLITTER_VERSION:
        return True
    corpus = load_corpus(config.corpus_dir, own_dir=config.own_stories_dir)
    return corpus.content_hash != data.manifest.get("corpus_hash")


def story_summaries(data: IndexData) -> tuple[StorySummary, ...]:
    counts = (
        np.bincount(data.sentences[:, 0], minlength=len(data.stories))
        if len(data.sentences)
        else [0] * len(data.stories)
    )
    return tuple(
        StorySummary(s.title, s.file, len(s.paragraphs), int(counts[i]), s.source) for i, s in enumerate(data.stories)
    )


def index_info_of(data: IndexData, stale: bool | None) -> IndexInfo:
    m = data.manifest
    return IndexInfo(
        path=str(data.path),
        model=str(m.get("model")),
        dimension=int(m.get("dimension", 0)),
        format_version=int(m.get("format_version", 0)),
        corpus_hash=str(m.get("corpus_hash")),
        built_at=str(m.get("built_at")),
        stories=story_summaries(data),
        paragraphs=int(m.get("paragraphs", 0)),
        sentences=int(m.get("sentences", 0)),
        index_kind=str(m.get("index_kind")),
        stale=stale,
    )


def index_info(config: EngineConfig) -> IndexInfo:
    """The manifest of the index in use, without loading the model."""
    generation = current_generation(config.index_dir)
    data = load_generation(generation)
    try:
        stale: bool | None = _is_stale(data, config)
    except CorpusError:
        stale = None
    return index_info_of(data, stale)
