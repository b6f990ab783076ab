"""Training plumbing on the small QA subset: collected rows line up with their questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.quality.qa import load_qa_set
from index.quality.train import collect, confidence_inputs, fit_monotone_confidence, fit_ranker, pick_threshold, top1
from index.retrieval.features import CONFIDENCE_FEATURES, RANK_FEATURES
from index.retrieval.scorer import Scorer
from tests.doubles import HashEmbedder

SUBSET = Path(__file__).resolve().parent / "data" / "qa_dev_subset"


def test_collected_rows_belong_to_their_questions_and_train_a_scorer() -> None:
    qa = load_qa_set(SUBSET)
    data = collect(qa, HashEmbedder(), off_story=True)  # type: ignore[arg-type]
    answerable = sum(1 for q in qa.questions if not q.impossible)
    assert len(data.gold) == len(qa.questions) + answerable  # each answerable one is also asked off-story
    assert data.offsets[0] == 0 and data.offsets[-1] == len(data.features) == len(data.evidence)
    assert data.features.shape[1] == len(RANK_FEATURES) and len(data.question_level) == len(data.gold)
    sizes = np.diff(data.offsets)
    assert np.all(sizes > 0)
    assert np.all(data.gold < sizes)  # a gold row, when known, is one of the question's own rows
    assert not np.any(data.gold[~data.own] >= 0) and not np.any(data.answerable[~data.own])
    assert (data.gold >= 0).sum() > 0.8 * answerable

    everyone = np.arange(len(data.gold))
    ranker = fit_ranker(data, everyone, hidden=4, epochs=20)
    assert 0.0 < top1(data, ranker, everyone) <= 1.0
    x = confidence_inputs(data, ranker, everyone)
    assert x.shape == (len(everyone), len(CONFIDENCE_FEATURES)) and np.isfinite(x).all()
    confidence = fit_monotone_confidence(x, data.answerable.astype(float))
    probabilities = 1 / (1 + np.exp(-confidence.logits(x)))
    threshold = pick_threshold(probabilities, data.answerable, 0.78)
    assert (probabilities[data.answerable] >= threshold).mean() >= 0.78
    scorer = Scorer(ranker, confidence, threshold, {})
    assert Scorer.from_json(scorer.to_json()).threshold == round(threshold, 6)
