"""ONNX Runtime sessions set up one way for every graph storybot runs: the model and the dense search.

Each session's pool uses every core this process may run on, and its workers stop spinning
when a run ends so they leave the cores to the numpy work that follows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def onnx_cpu_session(model: str | bytes, *, disabled_optimizers: Sequence[str] = ()) -> Any:
    """An ONNX Runtime session on the CPU whose pool uses every core and stops spinning when a run ends.

    Workers spin between the operators of a run, which saves waking them for each one; idle
    workers that went on spinning would take the cores retrieval's numpy products run on next.
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
