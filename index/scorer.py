"""The learned scorer: two small logistic models shipped as JSON (never a pickle).

The ranker weighs the features of each candidate sentence; the confidence model weighs the
evidence about the best one and says how sure the engine is that the story answers at all.
Both, and the threshold, come from `python -m index.train` on the dev split of the QA data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexStoreError
from index.retriever import CONFIDENCE_FEATURES, RANK_FEATURES

WEIGHTS_FILE = "weights.json"


@dataclass(frozen=True, slots=True)
class LinearModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(float(self.bias), 6),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any], expected: tuple[str, ...]) -> LinearModel:
        features = tuple(raw["features"])
        if features != expected:
            raise IndexStoreError("the scorer weights do not match this version's features; retrain with `python -m index.train`")
        arrays = [np.asarray(raw[k], dtype=np.float32) for k in ("mean", "scale", "weights")]
        if any(a.shape != (len(features),) for a in arrays):
            raise IndexStoreError("the scorer weights file is malformed")
        return cls(features, arrays[0], np.where(arrays[1] > 0, arrays[1], 1.0), arrays[2], float(raw["bias"]))


@dataclass(frozen=True, slots=True)
class Scorer:
    ranker: LinearModel
    confidence: LinearModel
    threshold: float
    meta: dict[str, Any]

    def rank_scores(self, features: np.ndarray) -> np.ndarray:
        return self.ranker.logits(features)

    def confidence_of(self, features: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-self.confidence.logits(features))))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "ranker": self.ranker.to_json(),
            "confidence": self.confidence.to_json(),
            "threshold": round(self.threshold, 6),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Scorer:
        return cls(
            LinearModel.from_json(raw["ranker"], RANK_FEATURES),
            LinearModel.from_json(raw["confidence"], CONFIDENCE_FEATURES),
            float(raw["threshold"]),
            dict(raw.get("meta", {})),
        )


def load_scorer(path: Path | None = None) -> Scorer:
    """The shipped weights, or another weights file (evaluation of a freshly trained one)."""
    try:
        if path is None:
            text = resources.files("index").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
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
    confidence = LinearModel(CONFIDENCE_FEATURES, np.zeros(n_conf, np.float32), np.ones(n_conf, np.float32), conf_weights, -0.5)
    return Scorer(ranker, confidence, 0.5, {"trained_on": "nothing (neutral)"})
