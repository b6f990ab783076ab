"""Exact dense scores of a batch of questions against every sentence, and each one's best.

numpy does this as one matrix product and an argpartition on one BLAS thread: numpy's BLAS is
kept to one thread because its idle workers spin and slow the model's next forward pass
(`index/threads.py`). ONNX Runtime's pool does not spin when idle, so the same product and a
TopK run there on every core: a burst of 64 questions against 10,324 sentences took 8.6 ms
against numpy's 16.9 ms, and a lone question 1.3 ms against 1.9 ms. numpy remains the fallback.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from index.threads import onnx_cpu_session

log = logging.getLogger(__name__)


class DenseSearch:
    """Cosine scores of questions against a fixed (sentences × dimension) float32 matrix."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._session: Any = None
        if len(self.vectors):
            try:
                self._session, self._stored = _session_over(self.vectors)
            except Exception as exc:  # no runtime, or a runtime that refuses the graph: numpy does it
                log.debug("dense search through ONNX Runtime unavailable (%s); using numpy", exc)

    def scores_and_best(self, questions: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(questions × sentences) scores, and for each question the columns of its k best, in no set order."""
        k = max(0, min(k, len(self.vectors)))
        questions = np.ascontiguousarray(questions, dtype=np.float32)
        if self._session is not None and k > 0:
            scores, best = self._session.run(["scores", "best"], {"questions": questions, "sentences": self._stored, "k": np.array([k], np.int64)})
            return scores, best
        scores = questions @ self.vectors.T
        if k == 0:
            return scores, np.zeros((len(questions), 0), np.int64)
        if k == scores.shape[1]:
            return scores, np.tile(np.arange(k), (len(questions), 1))
        return scores, np.argpartition(scores, scores.shape[1] - k, axis=1)[:, -k:]


def _session_over(vectors: np.ndarray) -> tuple[Any, Any]:
    """A two-node graph (Gemm with the sentences transposed, then TopK), and the sentences bound once without a copy."""
    import onnxruntime
    from onnx import TensorProto, helper

    dimension = vectors.shape[1]
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["questions", "sentences"], ["scores"], transB=1),
            helper.make_node("TopK", ["scores", "k"], ["best_scores", "best"], axis=1, sorted=0),
        ],
        "dense_search",
        [
            helper.make_tensor_value_info("questions", TensorProto.FLOAT, ["n", dimension]),
            helper.make_tensor_value_info("sentences", TensorProto.FLOAT, ["rows", dimension]),
            helper.make_tensor_value_info("k", TensorProto.INT64, [1]),
        ],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", "rows"]),
            helper.make_tensor_value_info("best", TensorProto.INT64, ["n", "k"]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx_cpu_session(model.SerializeToString()), onnxruntime.OrtValue.ortvalue_from_numpy(vectors)
