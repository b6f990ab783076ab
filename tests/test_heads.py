"""The trained heads' plumbing with stand-in networks: tokenized pairs, span decoding, the second
stage and the marks in the engine. The real heads are exercised in tests/test_heads_real.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.corpus.stories import load_corpus
from index.engine import Engine
from index.heads import AnswerReader, Heads, Reranker
from index.heads.pairs import PairTokenizer
from index.heads.reader import best_span
from index.heads.runtime import base_model_path
from index.heads.spec import HeadSpec, head_spec
from index.retrieval.features import RERANKED_CONFIDENCE_FEATURES
from index.retrieval.rerank import RERANK_FEATURES
from index.retrieval.scorer import Judge, LinearModel, Scorer, SecondStage, load_scorer
from index.types import ANSWERED
from tests.doubles import HashEmbedder


def _tokenizer(max_length: int = 64) -> PairTokenizer:
    return PairTokenizer(base_model_path() / "tokenizer.json", max_length)


def _spec(name: str, task: str, fingerprint: str = "f" * 16, **meta: float) -> HeadSpec:
    return HeadSpec(name, Path("."), task, 64, fingerprint, dict(meta))


class KeywordRuntime:
    """A cross-encoder stand-in: a high logit for passages holding the word, low otherwise."""

    def __init__(self, tokenizer: PairTokenizer, word: str) -> None:
        self.word_id = tokenizer.encode(["x"], [word])[0].ids[-2]
        self.calls = 0

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.calls += 1
        hit = ((feeds["input_ids"] == self.word_id) & (feeds["token_type_ids"] == 1)).any(axis=1)
        return [np.where(hit, 5.0, -5.0).astype(np.float32)[:, None]]


class PointingRuntime:
    """A reader stand-in: start and end logits peaked on one word of the passage, `margin` above [CLS]."""

    def __init__(self, tokenizer: PairTokenizer, word: str, margin: float) -> None:
        self.word_id = tokenizer.encode(["x"], [word])[0].ids[-2]
        self.margin = margin

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        ids = feeds["input_ids"]
        logits = np.where((ids == self.word_id) & (feeds["token_type_ids"] == 1), self.margin / 2, -9.0)
        logits[:, 0] = 0.0
        return [logits.astype(np.float32), logits.astype(np.float32)]


def test_pairs_keep_where_each_passage_token_came_from() -> None:
    tokenizer = _tokenizer()
    passage = "O'Neill said “it didn’t happen” in 2017."
    pair = tokenizer.encode(["Who said it?"], [passage])[0]
    offsets = [o for o in pair.passage_offsets if o is not None]
    assert offsets and all(0 <= a < b <= len(passage) for a, b in offsets)
    assert "2017" in [passage[a:b] for a, b in offsets]
    assert pair.passage_offsets[0] is None  # [CLS]


def test_long_pairs_are_cut_to_the_heads_length_and_chunks_pad_to_their_longest() -> None:
    tokenizer = _tokenizer(32)
    pairs = tokenizer.encode(["short?", "a longer question here?"], ["One.", "word " * 100])
    assert len(pairs[1].ids) == 32
    chunks = list(tokenizer.chunks(pairs))
    rows = [r for rs, _ in chunks for r in rs]
    assert sorted(rows) == [0, 1]
    for rs, feeds in chunks:
        assert feeds["input_ids"].shape == (len(rs), max(len(pairs[r].ids) for r in rs))
        assert feeds["attention_mask"].sum() == sum(len(pairs[r].ids) for r in rs)


def test_best_span_is_the_highest_pair_of_passage_tokens_trimmed_of_punctuation() -> None:
    tokenizer = _tokenizer()
    passage = 'The mayor said "outrageous," twice.'
    pair = tokenizer.encode(["What did he say?"], [passage])[0]
    n = len(pair.ids)
    start, end = np.full(n, -5.0, np.float32), np.full(n, -5.0, np.float32)
    tokens = [i for i, o in enumerate(pair.passage_offsets) if o is not None]
    quote_open = next(i for i in tokens if passage[slice(*pair.passage_offsets[i])] == '"')
    start[quote_open], end[quote_open + 3] = 3.0, 3.0  # `"outrageous,` with its quote marks
    start[0] = end[0] = 1.0
    span = best_span(pair, start, end, passage)
    assert span is not None
    assert passage[span.start : span.end] == "outrageous"
    assert span.margin == pytest.approx(4.0)


def test_a_span_never_runs_backwards_or_outside_the_passage() -> None:
    tokenizer = _tokenizer()
    passage = "In 2016 we locked up over 1,000 people."
    pair = tokenizer.encode(["how many?"], [passage])[0]
    rng = np.random.default_rng(1)
    for _ in range(50):
        start = rng.normal(size=len(pair.ids)).astype(np.float32)
        end = rng.normal(size=len(pair.ids)).astype(np.float32)
        span = best_span(pair, start, end, passage)
        assert span is None or 0 <= span.start < span.end <= len(passage)


def test_heads_not_shipped_are_missing_not_broken(tmp_path: Path) -> None:
    assert head_spec("reranker", tmp_path) is None


def _second_stage(fingerprint: str) -> SecondStage:
    """A second stage that follows the cross-encoder, and a judge that is always sure."""
    n, m = len(RERANK_FEATURES), len(RERANKED_CONFIDENCE_FEATURES)
    weights = np.zeros(n, np.float32)
    weights[RERANK_FEATURES.index("cross")] = 1.0
    ranker = LinearModel(RERANK_FEATURES, np.zeros(n, np.float32), np.ones(n, np.float32), weights, 0.0)
    sure = LinearModel(RERANKED_CONFIDENCE_FEATURES, np.zeros(m, np.float32), np.ones(m, np.float32), np.zeros(m), 5.0)
    return SecondStage(10, fingerprint, ranker, Judge(sure, 0.5, sure, 0.1))


def _engine(small_corpus: Path, heads: Heads, fingerprint: str = "f" * 16) -> Engine:
    scorer = replace(load_scorer(), second=_second_stage(fingerprint))
    return Engine.from_corpus(load_corpus(small_corpus), HashEmbedder(), scorer=scorer, heads=heads)


def test_the_second_stage_puts_first_what_the_cross_encoder_prefers(small_corpus: Path) -> None:
    tokenizer = _tokenizer()
    runtime = KeywordRuntime(tokenizer, "rivera")
    reranker = Reranker(_spec("reranker", "sequence-classification"), tokenizer, runtime)
    answer = _engine(small_corpus, Heads(reranker=reranker)).answer("When did the harbour reopen after the storm?")
    assert runtime.calls >= 1
    assert "Rivera" in answer.quotes[0].text
    assert answer.outcome == ANSWERED


def test_a_second_stage_trained_with_another_reranker_is_not_used(small_corpus: Path) -> None:
    tokenizer = _tokenizer()
    runtime = KeywordRuntime(tokenizer, "rivera")
    reranker = Reranker(_spec("reranker", "sequence-classification", fingerprint="0" * 16), tokenizer, runtime)
    engine = _engine(small_corpus, Heads(reranker=reranker))
    assert engine.second_stage is None
    assert "Rivera" not in engine.answer("When did the harbour reopen after the storm?").quotes[0].text
    assert runtime.calls == 0


@pytest.mark.parametrize(("margin", "marked"), [(6.0, True), (1.0, False)])
def test_the_reader_marks_words_only_above_its_margin(small_corpus: Path, margin: float, marked: bool) -> None:
    tokenizer = _tokenizer()
    spec = _spec("reader", "question-answering", mark_margin=3.0)
    reader = AnswerReader(spec, tokenizer, PointingRuntime(tokenizer, "400", margin))
    engine = Engine.from_corpus(load_corpus(small_corpus), HashEmbedder(), heads=Heads(reader=reader))
    engine = Engine(engine.config, engine.embedder, engine.data, replace(engine.scorer, threshold=0.0), engine.heads)
    first = engine.answer("How many pupils does the new school have?").quotes[0]
    assert "400" in first.text
    if marked:
        assert first.answer_span is not None
        assert first.text[slice(*first.answer_span)] == "400"
        assert first.start <= first.answer_start < first.answer_end <= first.end  # type: ignore[operator]
    else:
        assert first.answer_span is None


def test_a_scorer_with_a_second_stage_reads_back_the_same(tmp_path: Path) -> None:
    import json

    scorer = replace(load_scorer(), second=_second_stage("a" * 16))
    path = tmp_path / "weights.json"
    path.write_text(json.dumps(scorer.to_json()), encoding="utf-8")
    again = load_scorer(path)
    assert again.second is not None and again.second.head == "a" * 16
    x = np.random.default_rng(0).normal(size=(3, len(RERANK_FEATURES))).astype(np.float32)
    np.testing.assert_allclose(again.second.ranker.logits(x), scorer.second.ranker.logits(x), atol=1e-5)  # type: ignore[union-attr]
    assert isinstance(again, Scorer)
