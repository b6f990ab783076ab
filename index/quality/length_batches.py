"""Training batches of similar length, for the cross-encoder trainer's `batch_sampler` option.

A batch is padded to its longest pair, so random batches of short and long pairs spend much of
their work on padding; batches drawn from a length-sorted pool of shuffled pairs waste little,
and their order is still shuffled each epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sentence_transformers.base.sampler import DefaultBatchSampler

POOL_BATCHES = 64
"""Batches' worth of shuffled pairs sorted together: large enough to match lengths well."""


class LengthBucketBatchSampler(DefaultBatchSampler):
    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: Any = None,
        seed: int = 0,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        columns = [c for c in dataset.column_names if c != "label"]
        self.lengths = [sum(len(str(row[c])) for c in columns) for row in dataset]

    def __iter__(self) -> Iterator[list[int]]:
        import torch

        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        pool = self.batch_size * POOL_BATCHES
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        for i in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[i]

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
