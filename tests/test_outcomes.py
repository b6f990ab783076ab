"""Three outcomes, and quotes arranged to read like an answer (pure: no model)."""

from __future__ import annotations

import numpy as np
import pytest

from index import ANSWERED, NOT_IN_STORY, UNSURE, Answer, Quote
from index.retrieval.compose import ADD_MARGIN, Span, arrange
from index.retrieval.scorer import Scorer, load_scorer

QUOTE = Quote("The mayor spoke.", "Story", "story.txt", 1, 0, 16, 1.0)


@pytest.mark.parametrize(
    ("quotes", "confidence", "relevance", "outcome"),
    [
        ((QUOTE,), 0.9, 0.9, ANSWERED),
        ((QUOTE,), 0.1, 0.9, UNSURE),
        ((QUOTE,), 0.9, 0.1, NOT_IN_STORY),
        ((), 0.9, 0.9, NOT_IN_STORY),
    ],
)
def test_outcome_from_confidence_and_relevance(
    quotes: tuple[Quote, ...], confidence: float, relevance: float, outcome: str
) -> None:
    answer = Answer("q", quotes, confidence, 0.5, "hash", relevance=relevance, floor=0.3)
    assert answer.outcome == outcome
    assert answer.answered == (outcome == ANSWERED)
    shown = answer.to_json()
    assert shown["outcome"] == outcome and shown["answered"] == (outcome == ANSWERED)


def test_the_shipped_scorer_has_a_floor_below_its_threshold() -> None:
    scorer = load_scorer()
    assert scorer.relevance is not None
    assert 0.0 < scorer.floor < 1.0 and 0.0 < scorer.threshold < 1.0
    again = Scorer.from_json(scorer.to_json())
    x = np.random.default_rng(0).normal(size=(4, len(scorer.confidence.features))).astype(np.float32)
    np.testing.assert_allclose(again.relevances(x), scorer.relevances(x), atol=1e-5)
    assert again.floor == pytest.approx(scorer.floor)


def test_weights_without_a_relevance_model_never_say_not_in_story() -> None:
    raw = load_scorer().to_json()
    raw.pop("relevance")
    raw.pop("floor")
    old = Scorer.from_json(raw)
    assert old.floor == 0.0
    assert (old.relevances(np.zeros((2, len(old.confidence.features)), np.float32)) == 1.0).all()


PARAGRAPH = {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 2}


def _arrange(spans: list[Span], margin: float | None = ADD_MARGIN) -> list[tuple[int, int]]:
    return [(s.first, s.last) for s in arrange(spans, PARAGRAPH.__getitem__, lambda a, b: 50 * (b - a + 1), margin)]


def test_the_best_comes_first_and_the_rest_in_story_order() -> None:
    spans = [Span(4, 4, 5.0), Span(5, 5, 4.0), Span(0, 0, 3.5)]
    assert _arrange(spans) == [(4, 4), (0, 0), (5, 5)]


def test_adjacent_sentences_of_one_paragraph_become_one_quote() -> None:
    assert _arrange([Span(1, 1, 5.0), Span(2, 2, 4.5), Span(3, 3, 4.4)]) == [(1, 2), (3, 3)]


def test_quotes_far_below_the_first_are_left_out_unless_unsure() -> None:
    spans = [Span(0, 0, 5.0), Span(5, 5, 5.0 - ADD_MARGIN - 0.1)]
    assert _arrange(spans) == [(0, 0)]
    assert _arrange(spans, margin=None) == [(0, 0), (5, 5)]


def test_nothing_to_arrange() -> None:
    assert _arrange([]) == []
