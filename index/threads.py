"""One pool of compute threads per process, not two fighting over the same cores.

The embedding model (ONNX Runtime, or torch) and numpy (retrieval's matrix products) each
start a pool of worker threads sized to the machine. On a small machine the pools take turns
badly: a worker of one spins on a core the other needs, and a 1 ms product took 20 ms right
after a torch forward pass. Retrieval's products are small, so numpy's OpenBLAS gets one thread
and the model keeps every core. (With ONNX Runtime, two threads for numpy halve a lone
question's scan of 10,000 sentences, but OpenBLAS's idle threads spin after each product and
a burst of 64 questions then ran slower: 295 → 316 ms.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def onnx_cpu_session(model: str | bytes, *, disabled_optimizers: Sequence[str] = ()) -> Any:
    """An ONNX Runtime session on the CPU whose pool uses every core and stops spinning when a run ends.

    Workers spin between the operators of a run, which saves waking them for each one, but
    idle workers that went on spinning would steal the cores retrieval's numpy products run on
    next. A burst of 64 questions: spinning only within runs and the padding-free graph's own
    layer norms (`index/onnx_packing.py`) took 15.0 ± 3.0 ms off 280 ms, interleaved.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = usable_cores()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.add_session_config_entry("session.force_spinning_stop", "1")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model, options, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled_optimizers) or None
    )


@cache
def keep_numpy_blas_single_threaded() -> None:
    """Once per process. Only OpenBLAS builds with their own pthreads pool: an OpenMP build
    (faiss ships one) would pass the limit on to an OpenMP runtime that others share."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController().select(internal_api="openblas")
    own_pool = [lib for lib in controller.lib_controllers if getattr(lib, "threading_layer", "") == "pthreads"]
    for lib in own_pool:
        lib.set_num_threads(1)
