"""One pool of compute threads per process, not two fighting over the same cores.

Torch (the embedding model) and numpy (retrieval's matrix products) each start a pool of
worker threads sized to the machine. On a small machine the pools take turns badly: a
worker of one spins on a core the other needs, and a 1 ms product takes 20 ms right after a
forward pass. Retrieval's products are small, so numpy's OpenBLAS gets one thread and torch
keeps every core for the model.
"""

from __future__ import annotations

from functools import cache


@cache
def keep_numpy_blas_single_threaded() -> None:
    """Once per process; OpenBLAS builds only (torch's own BLAS is left alone)."""
    from threadpoolctl import ThreadpoolController

    ThreadpoolController().select(internal_api="openblas").limit(limits=1)
