"""(question, passage) pairs as a BERT-style encoder reads them: one tokenizer, whichever runtime runs the model.

Both runtimes (ONNX Runtime and PyTorch) are fed the same numpy arrays made here, so a copy of a
head is checked against its source on exactly the inputs it will see. Pairs are taken in order of
length and fed in chunks, so a batch is padded only to the longest pair of its chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CHUNK = 32
"""Pairs per forward pass: large enough to keep the cores busy, small enough that sorting by
length leaves little padding."""
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True, slots=True)
class EncodedPair:
    """One tokenized pair, with where each passage token came from in the passage's text."""

    ids: list[int]
    type_ids: list[int]
    passage_offsets: list[tuple[int, int] | None]  # per token: its characters in the passage, None outside it


class PairTokenizer:
    """The base model's tokenizer, truncating the longer text of a pair first (as training did)."""

    def __init__(self, tokenizer_file: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self.max_length = max_length
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length, strategy="longest_first")
        self._tokenizer.no_padding()
        self.pad_id = int(self._tokenizer.token_to_id("[PAD]") or 0)

    def encode(self, questions: Sequence[str], passages: Sequence[str]) -> list[EncodedPair]:
        encodings = self._tokenizer.encode_batch(list(zip(questions, passages)))
        return [
            EncodedPair(
                e.ids,
                e.type_ids,
                [offset if seq == 1 else None for offset, seq in zip(e.offsets, e.sequence_ids)],
            )
            for e in encodings
        ]

    def chunks(self, pairs: Sequence[EncodedPair]) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
        """(rows, feeds) per chunk of pairs of similar length, padded to the chunk's longest."""
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].ids))
        for start in range(0, len(order), CHUNK):
            rows = order[start : start + CHUNK]
            yield rows, self.feeds([pairs[i] for i in rows])

    def feeds(self, pairs: Sequence[EncodedPair]) -> dict[str, np.ndarray]:
        width = max(len(p.ids) for p in pairs)
        ids = np.full((len(pairs), width), self.pad_id, np.int64)
        mask = np.zeros((len(pairs), width), np.int64)
        types = np.zeros((len(pairs), width), np.int64)
        for row, pair in enumerate(pairs):
            n = len(pair.ids)
            ids[row, :n] = pair.ids
            mask[row, :n] = 1
            types[row, :n] = pair.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def as_feeds(raw: dict[str, Any]) -> dict[str, np.ndarray]:
    """The model inputs of a batch, whatever array type a caller had them in."""
    return {name: np.asarray(raw[name], dtype=np.int64) for name in INPUTS}
