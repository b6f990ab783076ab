"""Batched retrieval: the vectorised features equal their plain definitions, whatever the batch."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import bm25s
import numpy as np
import pytest

from index import Corpus, Engine, Story
from index.embedding.embedder import SentenceTransformerEmbedder
from index.quality.qa import QASet, load_qa_set
from index.retrieval import retriever as retriever_module
from index.retrieval.compose import MAX_QUOTE_CHARS, MAX_RUN, MERGE_MARGIN, Span, compose, compose_ranked
from index.retrieval.features import EVIDENCE, RANK_FEATURES, best_rows, confidence_features, ranked_rows
from index.retrieval.lexical import BM25Index, terms
from index.retrieval.retriever import Retriever
from index.store.vectors import all_vectors, build_vector_index, index_kind
from tests.doubles import HashEmbedder

REPO = Path(__file__).resolve().parent.parent
SUBSET = REPO / "tests" / "data" / "qa_dev_subset"
TOPICS = ["budget", "harbour", "school", "bridge", "election", "library", "railway", "hospital"]


@pytest.fixture(scope="module")
def squad() -> QASet:
    return load_qa_set(SUBSET)


@pytest.fixture(scope="module")
def engine(squad: QASet, embedder: SentenceTransformerEmbedder) -> Engine:
    """Three real stories (SQuAD, CC BY-SA) in one corpus: enough sentences that candidates are chosen."""
    stories = tuple(s for t in sorted(squad.stories) for s in squad.corpus_of(t).stories)
    return Engine.from_corpus(Corpus(stories), embedder)


@pytest.fixture(scope="module")
def questions(squad: QASet) -> list[str]:
    picked = [q.question for q in squad.questions[::16]]
    return [*picked, "Did the oil crisis not end?", "How many people died of the Black Death in 1350?", "budget"]


def question_vectors(engine: Engine, questions: list[str]) -> np.ndarray:
    return engine.embedder.embed(questions)


def same_up_to_ties(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Candidate ids both sides chose; at most two may differ, where the 100th best is a near-tie."""
    assert len(set(a.tolist()) ^ set(b.tolist())) <= 2
    return np.intersect1d(a, b)


def test_a_batch_gives_each_question_what_it_gets_alone(engine: Engine, questions: list[str]) -> None:
    retriever = engine.retriever
    contexts: list[str | None] = [None] * len(questions)
    contexts[3] = "What about the prices of oil in 1973?"
    vectors = question_vectors(engine, questions)
    batch = retriever.candidates(questions, vectors, contexts)
    evidence = retriever.evidence(batch, np.arange(len(batch.ids)))
    assert len(batch.offsets) == len(questions) + 1 and batch.features.shape == (len(batch.ids), len(RANK_FEATURES))
    # A batch's cosines come from one matrix product, so they may differ from a lone question's in
    # the last bit; features are compared where both chose the sentence, ranks excepted.
    measured = [i for i, name in enumerate(RANK_FEATURES) if not name.endswith("_rr")]
    for q, question in enumerate(questions):
        alone = retriever.candidates([question], vectors[q : q + 1], [contexts[q]])
        rows = batch.rows(q)
        assert np.all(np.diff(alone.ids) > 0) and np.all(np.diff(batch.ids[rows]) > 0), "ascending sentence ids"
        common = same_up_to_ties(batch.ids[rows], alone.ids)
        in_batch, in_alone = np.searchsorted(batch.ids[rows], common), np.searchsorted(alone.ids, common)
        np.testing.assert_allclose(
            batch.features[rows][in_batch][:, measured], alone.features[in_alone][:, measured], atol=1e-5
        )
        alone_evidence = retriever.evidence(alone, np.arange(len(alone.ids)))
        np.testing.assert_allclose(evidence[rows][in_batch], alone_evidence[in_alone], atol=1e-6)
        np.testing.assert_array_equal(batch.question_level[q], alone.question_level[0])


def test_candidates_are_the_dense_and_the_lexical_best(engine: Engine, questions: list[str]) -> None:
    retriever = engine.retriever
    assert retriever.size > 2 * retriever_module.CANDIDATES_PER_SIDE
    vectors = question_vectors(engine, questions)
    batch = retriever.candidates(questions, vectors)
    k = retriever_module.CANDIDATES_PER_SIDE
    for q, question in enumerate(questions):
        ids = set(batch.ids[batch.rows(q)].tolist())
        dense = retriever.sentence_vectors(np.arange(retriever.size)) @ vectors[q]
        assert set(np.argsort(-dense, kind="stable")[: k - 5].tolist()) <= ids
        bm25 = retriever.bm25.scores(terms(question))
        best_lexical = np.argsort(-bm25, kind="stable")[: k - 5]
        assert set(best_lexical[bm25[best_lexical] > 0].tolist()) <= ids
        assert len(ids) <= 2 * k


def test_features_match_their_plain_definitions(engine: Engine, questions: list[str]) -> None:
    """Coverage, window coverage, bigrams, BM25 and cosine, recomputed one candidate at a time."""
    retriever = engine.retriever
    vectors = question_vectors(engine, questions)
    batch = retriever.candidates(questions, vectors)
    col = {name: i for i, name in enumerate(RANK_FEATURES)}
    for q, question in enumerate(questions):
        q_terms = terms(question)
        unique = list(dict.fromkeys(q_terms))
        idf = {t: retriever.bm25.idf(t) for t in unique}
        idf_sum = sum(idf.values()) or 1.0
        bigrams = set(itertools.pairwise(q_terms))
        bm25 = retriever.bm25.scores(unique)
        rows = batch.rows(q)
        for sid, row in zip(batch.ids[rows][::7], batch.features[rows][::7]):
            sentence = set(terms(retriever.sentence_text(int(sid))))
            window = set(sentence)
            if retriever.has_prev[sid]:
                window |= set(terms(retriever.sentence_text(int(sid) - 1)))
            if retriever.has_next[sid]:
                window |= set(terms(retriever.sentence_text(int(sid) + 1)))
            sentence_terms = terms(retriever.sentence_text(int(sid)))
            assert row[col["cover_sent"]] == pytest.approx(
                sum(idf[t] for t in unique if t in sentence) / idf_sum, abs=1e-5
            )
            assert row[col["cover_window"]] == pytest.approx(
                sum(idf[t] for t in unique if t in window) / idf_sum, abs=1e-5
            )
            expected_bigram = len(bigrams & set(itertools.pairwise(sentence_terms))) / len(bigrams) if bigrams else 0.0
            assert row[col["bigram_sent"]] == pytest.approx(expected_bigram, abs=1e-6)
            assert row[col["bm25_abs"]] == pytest.approx(bm25[sid] / idf_sum, abs=1e-5)
            cosine = float(retriever.sentence_vectors(np.array([sid]))[0] @ vectors[q])
            assert row[col["dense_sent"]] == pytest.approx(cosine, abs=1e-5)


def test_approximate_index_gives_the_same_features(engine: Engine, questions: list[str]) -> None:
    approximate = build_vector_index(all_vectors(engine.data.sentence_vectors), "hnsw")
    hnsw = Engine(engine.config, engine.embedder, replace(engine.data, sentence_vectors=approximate))
    assert index_kind(hnsw.data.sentence_vectors) == "hnsw"
    vectors = question_vectors(engine, questions)
    a, b = engine.retriever.candidates(questions, vectors), hnsw.retriever.candidates(questions, vectors)
    measured = [i for i, name in enumerate(RANK_FEATURES) if not name.endswith("_rr")]
    for q in range(len(questions)):
        common = same_up_to_ties(a.ids[a.rows(q)], b.ids[b.rows(q)])
        rows_a, rows_b = np.searchsorted(a.ids[a.rows(q)], common), np.searchsorted(b.ids[b.rows(q)], common)
        np.testing.assert_allclose(
            a.features[a.rows(q)][rows_a][:, measured], b.features[b.rows(q)][rows_b][:, measured], atol=1e-5
        )


def test_large_batches_are_sliced_without_changing_anything(
    engine: Engine, questions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    vectors = question_vectors(engine, questions)
    whole = engine.retriever.candidates(questions, vectors)
    monkeypatch.setattr(retriever_module, "BATCH_CELLS", engine.retriever.size * 3)
    sliced = engine.retriever.candidates(questions, vectors)
    assert len(sliced.queries) == len(questions)
    for q in range(len(questions)):
        common = same_up_to_ties(whole.ids[whole.rows(q)], sliced.ids[sliced.rows(q)])
        assert len(common) > 0


def test_evidence_says_which_names_numbers_and_rare_terms_a_paragraph_lacks() -> None:
    lead = "Fishermen complained about the prices at the market."
    reopened = "The harbour of Zanzibar reopened in 1888 after the storm."
    later = "Bread was cheaper than fish that week."
    name = {n: i for i, n in enumerate(EVIDENCE)}
    question = "When did the Zanzibar harbour reopen in 1888?"

    def evidence_by_paragraph(title: str, paragraphs: tuple[str, ...]) -> dict[int, np.ndarray]:
        engine = Engine.from_corpus(Corpus((Story(title, "harbour.txt", paragraphs),)), HashEmbedder())
        batch = engine.retriever.candidates([question], engine.embedder.embed([question]))
        evidence = engine.retriever.evidence(batch, np.arange(len(batch.ids)))
        return {int(engine.retriever.paragraph_of[sid]): row for sid, row in zip(batch.ids, evidence)}

    found = evidence_by_paragraph("Market news", (lead, reopened, later))
    assert found[1][name["missing_number"]] == 0.0 and found[2][name["missing_number"]] == 1.0
    assert found[1][name["missing_entity"]] == 0.0 and found[2][name["missing_entity"]] == 1.0
    assert found[1][name["missing_para"]] == 0.0 and found[2][name["missing_para"]] > 0.0
    assert found[2][name["missing_story"]] == 0.0  # the story has every term, in some paragraph
    # a name or number in the title or the lead counts as present in every paragraph
    found = evidence_by_paragraph("Zanzibar news", (reopened, lead, later))
    assert found[2][name["missing_entity"]] == 0.0 and found[2][name["missing_number"]] == 0.0


def test_an_empty_index_has_no_candidates() -> None:
    engine = Engine.from_corpus(Corpus(()), HashEmbedder())
    batch = engine.retriever.candidates(
        ["anything at all?", "more?"], HashEmbedder().embed(["anything at all?", "more?"])
    )
    assert batch.offsets.tolist() == [0, 0, 0] and batch.features.shape == (0, len(RANK_FEATURES))
    assert engine.retriever.evidence(batch, np.zeros(0, np.int64)).shape == (0, len(EVIDENCE))
    assert isinstance(engine.retriever, Retriever)


def test_best_rows_takes_the_first_of_ties_and_handles_lonely_and_empty_questions() -> None:
    scores = np.array([1.0, 3.0, 3.0, 2.0, 0.5, 7.0], np.float32)
    offsets = np.array([0, 4, 5, 5, 6])  # q0: 4 rows, q1: one, q2: none, q3: one
    top, second = best_rows(scores, offsets)
    assert top.tolist() == [1, 4, -1, 5]
    assert second.tolist() == [3.0, 0.5 - 5.0, 0.0, 7.0 - 5.0]
    features = np.arange(6 * len(RANK_FEATURES), dtype=np.float32).reshape(6, -1)
    out = confidence_features(
        features, scores, top, second, np.ones((4, len(EVIDENCE)), np.float32), np.ones((4, 2), np.float32)
    )
    assert out[2].tolist() == [0.0] * out.shape[1]
    assert out[0, 0] == 3.0 and out[0, 1] == 0.0


def compose_plainly(
    ids: np.ndarray, scores: np.ndarray, paragraph_of: np.ndarray, chars: np.ndarray, k: int
) -> list[Span]:
    """compose's rule spelled out: best first; grow by a same-paragraph candidate neighbour
    (after, then before) within MERGE_MARGIN and the length caps; never reuse a sentence."""
    score_of = {int(i): float(s) for i, s in reversed(list(zip(ids, scores)))}
    used: set[int] = set()
    spans: list[Span] = []
    for pos in np.argsort(-scores, kind="stable"):
        sid, score = int(ids[pos]), float(scores[pos])
        if sid in used:
            continue
        first = last = sid
        total = int(chars[sid])
        while last - first + 1 < MAX_RUN:
            for cand in (last + 1, first - 1):
                candidate = cand in score_of and cand not in used and paragraph_of[cand] == paragraph_of[sid]
                if candidate and score_of[cand] >= score - MERGE_MARGIN and total + int(chars[cand]) <= MAX_QUOTE_CHARS:
                    total += int(chars[cand])
                    first, last = min(first, cand), max(last, cand)
                    break
            else:
                break
        used.update(range(first, last + 1))
        spans.append(Span(first, last, score))
        if len(spans) == k:
            break
    return spans


def test_composing_from_the_batch_ranking_equals_the_plain_rule() -> None:
    """The engine's path (one ranking for the batch, neighbours by position) and `compose`."""
    rng = np.random.default_rng(3)
    paragraph_of = np.repeat(np.arange(40), 5)  # 200 sentences, five per paragraph
    chars = rng.integers(20, 300, size=200)
    counts = [0, 1, 2, 30, 60, 120]
    ids = np.concatenate([np.sort(rng.choice(200, n, replace=False)) for n in counts]).astype(np.int64)
    paragraph_level = rng.normal(size=40)  # sentences of a paragraph score alike, so runs merge
    scores = np.round(paragraph_level[paragraph_of[ids]] + rng.normal(scale=0.15, size=len(ids)), 1).astype(
        np.float32
    )  # ties too
    offsets = np.cumsum([0, *counts])
    ranked = ranked_rows(scores, offsets)
    assert best_rows(scores, offsets, ranked)[0].tolist() == best_rows(scores, offsets)[0].tolist()
    merged = 0
    for q in range(len(counts)):
        start, end = offsets[q], offsets[q + 1]
        for k in (1, 3, 5):
            alone = compose(ids[start:end], scores[start:end], paragraph_of, chars, k)
            own = ids[start:end]
            batched = compose_ranked(
                own.tolist(),
                scores[start:end].tolist(),
                [r - start for r in ranked[start:end]],
                paragraph_of[own].tolist(),
                chars[own].tolist(),
                k,
            )
            assert batched == alone == compose_plainly(ids[start:end], scores[start:end], paragraph_of, chars, k)
            merged += sum(span.last > span.first for span in batched)
    assert merged > 5  # the data exercises merging, not only single sentences


def test_bm25_for_many_queries_equals_bm25s_one_query_at_a_time() -> None:
    texts = [f"the {a} saw the {b} near the {c}" for a in TOPICS for b in TOPICS[:4] for c in TOPICS[2:5]] + [""]
    index = BM25Index(texts)
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index([terms(t) or [""] for t in texts], show_progress=False)
    queries = [["budget"], ["harbour", "school"], ["bridg", "unknownterm"], [], ["unknownterm"]]
    many = index.scores_many(queries)
    for query, row in zip(queries, many):
        known = [t for t in query if t in reference.vocab_dict]
        expected = np.asarray(reference.get_scores(known)) if known else np.zeros(len(texts))
        np.testing.assert_allclose(row, expected, rtol=1e-6)


def test_compose_merges_a_close_neighbour_and_never_overlaps() -> None:
    ids = np.array([10, 11, 12, 20, 21])
    paragraph_of = np.array([0] * 12 + [1] * 9 + [2] * 5)  # 10, 11 in ¶0; 12..20 in ¶1; 21 in ¶2
    chars = np.full(26, 50)
    spans = compose(ids, np.array([5.0, 4.9, 4.95, 1.0, 0.5], np.float32), paragraph_of, chars, k=3)
    assert [(s.first, s.last) for s in spans] == [(10, 11), (12, 12), (20, 20)]
    # order of the candidate arrays does not matter
    shuffled = compose(ids[::-1], np.array([0.5, 1.0, 4.95, 4.9, 5.0], np.float32), paragraph_of, chars, k=3)
    assert [(s.first, s.last) for s in shuffled] == [(10, 11), (12, 12), (20, 20)]
    assert compose(ids, np.array([1.0, 9.0, 1.0, 1.0, 1.0], np.float32), paragraph_of, chars, k=1)[0].first == 11
