"""The learned scorer: small models (a hidden layer, or none) shipped as JSON, never a pickle.

The ranker scores each candidate sentence from its features; the confidence model reads the
evidence about the best one and says how sure the engine is that the story answers at all.
They, and the threshold, come from `python -m index.quality.train` on the dev split of the QA
data. The second stage (`second`), used when the cross-encoder rereads the best candidates, has
its own ranker and judge, trained by `python -m index.quality.train_heads` with that reranker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexStoreError
from index.retrieval.features import CONFIDENCE_FEATURES, RANK_FEATURES, RERANKED_CONFIDENCE_FEATURES
from index.retrieval.rerank import RERANK_FEATURES

WEIGHTS_FILE = "weights.json"


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Standardised features, then a linear layer, or one small ReLU layer and a linear one."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    hidden_weights: np.ndarray | None = None  # (features, hidden)
    hidden_bias: np.ndarray | None = None

    def logits(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        if self.hidden_weights is not None and self.hidden_bias is not None:
            z = np.maximum(z @ self.hidden_weights + self.hidden_bias, 0.0)
        out: np.ndarray = z @ self.weights + self.bias
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "features": list(self.features),
            "mean": _rounded(self.mean),
            "scale": _rounded(self.scale),
            "weights": _rounded(self.weights),
            "bias": round(float(self.bias), 6),
        }
        if self.hidden_weights is not None and self.hidden_bias is not None:
            out["hidden"] = {"weights": [_rounded(r) for r in self.hidden_weights], "bias": _rounded(self.hidden_bias)}
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any], expected: tuple[str, ...]) -> LinearModel:
        features = tuple(raw["features"])
        if features != expected:
            raise IndexStoreError(
                "the scorer weights do not match this version's features; retrain with `python -m index.quality.train`"
            )
        mean, scale = (np.asarray(raw[k], dtype=np.float32) for k in ("mean", "scale"))
        weights = np.asarray(raw["weights"], dtype=np.float32)
        hidden_weights = hidden_bias = None
        width = len(features)
        if "hidden" in raw:
            hidden_weights = np.asarray(raw["hidden"]["weights"], dtype=np.float32)
            hidden_bias = np.asarray(raw["hidden"]["bias"], dtype=np.float32)
            if (
                hidden_weights.ndim != 2
                or hidden_weights.shape[0] != len(features)
                or hidden_bias.shape != (hidden_weights.shape[1],)
            ):
                raise IndexStoreError("the scorer weights file is malformed")
            width = hidden_weights.shape[1]
        if mean.shape != (len(features),) or scale.shape != (len(features),) or weights.shape != (width,):
            raise IndexStoreError("the scorer weights file is malformed")
        return cls(
            features, mean, np.where(scale > 0, scale, 1.0), weights, float(raw["bias"]), hidden_weights, hidden_bias
        )


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def _probabilities(model: LinearModel, features: np.ndarray) -> np.ndarray:
    probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-model.logits(features)))
    return probabilities


@dataclass(frozen=True, slots=True)
class Judge:
    """How sure the engine is: the confidence model against its threshold (below: unsure) and the
    relevance model against its floor (below: not in the story)."""

    confidence: LinearModel
    threshold: float
    relevance: LinearModel | None = None
    floor: float = 0.0

    def confidences(self, features: np.ndarray) -> np.ndarray:
        """Probability that the story answers, one per row of confidence features."""
        return _probabilities(self.confidence, features)

    def relevances(self, features: np.ndarray) -> np.ndarray:
        """Probability that the question is about the story at all (1 without a relevance model)."""
        if self.relevance is None:
            return np.ones(len(features), np.float32)
        return _probabilities(self.relevance, features)


@dataclass(frozen=True, slots=True)
class SecondStage:
    """The ranking after the cross-encoder rereads each question's best `candidates`, and the
    judge of its answers: trained with that reranker (`head` is its fingerprint), used only with it."""

    candidates: int
    head: str
    ranker: LinearModel  # over RERANK_FEATURES
    judge: Judge  # over RERANKED_CONFIDENCE_FEATURES

    def to_json(self) -> dict[str, Any]:
        judge = self.judge
        out: dict[str, Any] = {
            "candidates": self.candidates,
            "head": self.head,
            "ranker": self.ranker.to_json(),
            "confidence": judge.confidence.to_json(),
            "threshold": round(judge.threshold, 6),
        }
        if judge.relevance is not None:
            out["relevance"] = judge.relevance.to_json()
            out["floor"] = round(judge.floor, 6)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SecondStage:
        relevance = raw.get("relevance")
        judge = Judge(
            LinearModel.from_json(raw["confidence"], RERANKED_CONFIDENCE_FEATURES),
            float(raw["threshold"]),
            LinearModel.from_json(relevance, RERANKED_CONFIDENCE_FEATURES) if relevance is not None else None,
            float(raw.get("floor", 0.0)) if relevance is not None else 0.0,
        )
        return cls(
            int(raw["candidates"]), str(raw["head"]), LinearModel.from_json(raw["ranker"], RERANK_FEATURES), judge
        )


@dataclass(frozen=True, slots=True)
class Scorer:
    """Three models over the same evidence: which sentence (ranker), does the story answer
    (confidence, against `threshold`), and is the question about the story at all (relevance,
    against `floor`). Below the floor the answer is "not in the story"; between the floor and
    the threshold the engine is unsure and shows the closest passages as such."""

    ranker: LinearModel
    confidence: LinearModel
    threshold: float
    meta: dict[str, Any]
    relevance: LinearModel | None = None
    floor: float = 0.0
    second: SecondStage | None = None

    def rank_scores(self, features: np.ndarray) -> np.ndarray:
        return self.ranker.logits(features)

    @property
    def judge(self) -> Judge:
        """The judge of answers ranked by the first stage alone."""
        return Judge(self.confidence, self.threshold, self.relevance, self.floor)

    def confidences(self, features: np.ndarray) -> np.ndarray:
        return self.judge.confidences(features)

    def relevances(self, features: np.ndarray) -> np.ndarray:
        return self.judge.relevances(features)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": 2,
            "ranker": self.ranker.to_json(),
            "confidence": self.confidence.to_json(),
            "threshold": round(self.threshold, 6),
        }
        if self.relevance is not None:
            out["relevance"] = self.relevance.to_json()
            out["floor"] = round(self.floor, 6)
        if self.second is not None:
            out["second"] = self.second.to_json()
        out["meta"] = self.meta
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Scorer:
        relevance = raw.get("relevance")
        return cls(
            LinearModel.from_json(raw["ranker"], RANK_FEATURES),
            LinearModel.from_json(raw["confidence"], CONFIDENCE_FEATURES),
            float(raw["threshold"]),
            dict(raw.get("meta", {})),
            LinearModel.from_json(relevance, CONFIDENCE_FEATURES) if relevance is not None else None,
            float(raw.get("floor", 0.0)) if relevance is not None else 0.0,
            SecondStage.from_json(raw["second"]) if "second" in raw else None,
        )


def load_scorer(path: Path | None = None) -> Scorer:
    """The shipped weights, or another weights file (evaluation of a freshly trained one)."""
    try:
        if path is None:
            text = resources.files(__package__ or "index.retrieval").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        return Scorer.from_json(json.loads(text))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise IndexStoreError(f"cannot read the scorer weights ({exc.__class__.__name__})") from None


def neutral_scorer() -> Scorer:
    """Equal dense and lexical weight, no learned confidence: the starting point of training."""
    n_rank, n_conf = len(RANK_FEATURES), len(CONFIDENCE_FEATURES)
    weights = np.zeros(n_rank, np.float32)
    weights[RANK_FEATURES.index("dense_sent")] = 1.0
    weights[RANK_FEATURES.index("bm25_rel")] = 1.0
    ranker = LinearModel(RANK_FEATURES, np.zeros(n_rank, np.float32), np.ones(n_rank, np.float32), weights, 0.0)
    conf_weights = np.zeros(n_conf, np.float32)
    conf_weights[CONFIDENCE_FEATURES.index("dense_sent")] = 1.0
    confidence = LinearModel(
        CONFIDENCE_FEATURES, np.zeros(n_conf, np.float32), np.ones(n_conf, np.float32), conf_weights, -0.5
    )
    return Scorer(ranker, confidence, 0.5, {"trained_on": "nothing (neutral)"})
