"""How a serving process is tuned: asked for once by the commands that serve questions.

Nothing here runs on import or when an `Engine` is made, so a test, an evaluation or a script
that uses the engine as a library keeps the process as it found it. `storybot run`,
`storybot ask` and the benchmark call `tune_process()` before they load anything and
`freeze_loaded_objects()` once the engine is open.

- One pool of compute threads, not two fighting over the same cores. The model (ONNX Runtime or
  torch) and numpy each start a pool sized to the machine; on a small machine their workers
  spin on the cores the other needs. Retrieval's products are small, so OpenBLAS gets one
  thread and the model keeps every core.
- Freed memory is kept for the next batch. Answering a batch allocates and frees the same few
  tens of megabytes each time; glibc hands freed memory back to the system as soon as more than
  a small threshold sits unused, and in a worker thread (where the bot's batcher answers) it
  does so after every batch, so the next batch faults those pages in afresh. Fixing both
  thresholds above what a batch holds keeps the memory: a process stays near its peak use
  instead of shrinking between bursts, and its peak does not grow.
- What was loaded stays out of the collector's way. A full collection walks every object the
  process holds (modules, the index's vocabularies); frozen, they are skipped. Frozen objects
  are still freed by reference counting; only a cycle among them would stay.
- Exit is quick. With the model libraries loaded, the collections Python makes while it shuts
  down walk every object several times; one pass at exit and a freeze spare them.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import gc
import logging
import os
import platform
from functools import cache

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 128 << 20
"""Free memory at the top of a heap beyond this goes back to the system."""
MMAP_THRESHOLD = 32 << 20
"""Allocations above this get their own mapping (glibc's largest allowed value on 64-bit)."""
TUNING_VARIABLES = ("GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")


@cache
def tune_process() -> None:
    """Once per process, before the model and the index load."""
    keep_numpy_blas_single_threaded()
    keep_freed_memory_for_reuse()
    atexit.register(collect_once_before_exit)


def freeze_loaded_objects() -> None:
    """After the engine is open: what is loaded now lives as long as the process."""
    gc.freeze()


def keep_numpy_blas_single_threaded() -> None:
    """Only OpenBLAS builds with their own pthreads pool: an OpenMP build (faiss ships one)
    would pass the limit on to an OpenMP runtime that others share."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController().select(internal_api="openblas")
    own_pool = [lib for lib in controller.lib_controllers if getattr(lib, "threading_layer", "") == "pthreads"]
    for lib in own_pool:
        lib.set_num_threads(1)


@cache
def keep_freed_memory_for_reuse() -> bool:
    """True if the thresholds were set. Only with glibc, and not when the person running the
    process tuned malloc themselves through the environment."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(os.environ.get(name) for name in TUNING_VARIABLES):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # Setting either turns off glibc's own adjusting of both, so both or neither: the mapping
        # threshold first, as the one glibc refuses above its limit (512 KiB on 32-bit systems).
        applied: bool = (
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        )
    except (OSError, AttributeError) as exc:
        log.debug("could not tune malloc (%s)", exc)
        return False
    return applied


def collect_once_before_exit() -> None:
    """Free what is garbage at exit in one pass, then keep the interpreter's own passes off the rest.

    One full pass still finalizes every unreachable object (a records database left to the
    collector is closed and checkpointed as before); objects alive now get no guarantee of
    finalization at exit from Python anyway.
    """
    gc.collect()
    gc.freeze()
