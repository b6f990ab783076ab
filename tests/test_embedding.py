"""The embedding seam: batching by length never changes which vector belongs to which text."""

from __future__ import annotations

import numpy as np

from tests.doubles import HashEmbedder


def test_vectors_come_back_in_input_order_whatever_the_batching() -> None:
    texts = ["a much longer text about the city council budget vote", "short", "", "medium length text here", "x " * 50]
    together = HashEmbedder().embed(texts, batch_size=2)
    for text, vector in zip(texts, together):
        np.testing.assert_allclose(vector, HashEmbedder().embed([text])[0])
    norms = np.linalg.norm(together, axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
