"""Exact dense scores of a batch of questions against every sentence (with each one's best) and
against every paragraph.

numpy can do this as matrix products and an argpartition, but only on one BLAS thread: numpy's
BLAS is kept to one thread because its idle workers spin and slow the model's next forward pass
(`index/tuning.py`). ONNX Runtime's pool does not spin when idle, so the same products and a
TopK run as one small graph on every core, sentences and paragraphs in the same run. numpy
remains the fallback where ONNX Runtime cannot build the graph.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import numpy as np

from index.embedding.onnx_session import onnx_cpu_session

log = logging.getLogger(__name__)


class DenseHits(NamedTuple):
    scores: np.ndarray  # (questions × sentences) cosines
    best: np.ndarray  # (questions × k): each question's k best sentences, in no set order
    paragraph_scores: np.ndarray  # (questions × paragraphs) cosines


class DenseSearch:
    """Cosine scores of questions against fixed (rows × dimension) float32 matrices of sentences and paragraphs."""

    def __init__(self, vectors: np.ndarray, paragraphs: np.ndarray | None = None) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        shape = (0, self.vectors.shape[1])
        self.paragraphs = np.ascontiguousarray(
            paragraphs if paragraphs is not None else np.zeros(shape), dtype=np.float32
        )
        self._session: Any = None
        if len(self.vectors):
            try:
                self._session, self._stored = _session_over(self.vectors, self.paragraphs)
            except Exception as exc:  # no runtime, or a runtime that refuses the graph: numpy does it
                log.debug("dense search through ONNX Runtime unavailable (%s); using numpy", exc)

    def search(self, questions: np.ndarray, k: int) -> DenseHits:
        k = max(0, min(k, len(self.vectors)))
        questions = np.ascontiguousarray(questions, dtype=np.float32)
        if self._session is not None and k > 0:
            feeds = {"questions": questions, "k": np.array([k], np.int64), **self._stored}
            return DenseHits(*self._session.run(["scores", "best", "paragraph_scores"], feeds))
        scores = questions @ self.vectors.T
        paragraph_scores = questions @ self.paragraphs.T
        if k == 0:
            return DenseHits(scores, np.zeros((len(questions), 0), np.int64), paragraph_scores)
        if k == scores.shape[1]:
            return DenseHits(scores, np.tile(np.arange(k), (len(questions), 1)), paragraph_scores)
        return DenseHits(scores, np.argpartition(scores, scores.shape[1] - k, axis=1)[:, -k:], paragraph_scores)


def _session_over(vectors: np.ndarray, paragraphs: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """A three-node graph (a Gemm per matrix, which it reads row by row as stored, and a TopK),
    and the matrices bound once without a copy."""
    import onnxruntime
    from onnx import TensorProto, helper

    dimension = vectors.shape[1]
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["questions", "sentences"], ["scores"], transB=1),
            helper.make_node("TopK", ["scores", "k"], ["best_scores", "best"], axis=1, sorted=0),
            helper.make_node("Gemm", ["questions", "paragraphs"], ["paragraph_scores"], transB=1),
        ],
        "dense_search",
        [
            helper.make_tensor_value_info("questions", TensorProto.FLOAT, ["n", dimension]),
            helper.make_tensor_value_info("sentences", TensorProto.FLOAT, ["rows", dimension]),
            helper.make_tensor_value_info("paragraphs", TensorProto.FLOAT, ["paragraph_rows", dimension]),
            helper.make_tensor_value_info("k", TensorProto.INT64, [1]),
        ],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", "rows"]),
            helper.make_tensor_value_info("best", TensorProto.INT64, ["n", "k"]),
            helper.make_tensor_value_info("paragraph_scores", TensorProto.FLOAT, ["n", "paragraph_rows"]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    stored = {
        name: onnxruntime.OrtValue.ortvalue_from_numpy(matrix)
        for name, matrix in (("sentences", vectors), ("paragraphs", paragraphs))
    }
    return onnx_cpu_session(model.SerializeToString()), stored
