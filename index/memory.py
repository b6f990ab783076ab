"""How a serving process treats memory: freed memory is kept for the next batch, and what
was loaded stays out of the garbage collector's way.

Answering a batch allocates and frees the same few tens of megabytes each time (score matrices,
gathered features). glibc gives freed memory back to the system as soon as more than a small
threshold sits unused, and in a thread other than the main one (where the bot's batcher
answers) it does so for every batch: the next batch then touches those pages afresh. On the
48-story corpus that was ~1,900 page faults and 48 ms of retrieval per burst of 64, against
26 faults and 40 ms on the main thread. Fixing both thresholds (above what a batch holds at
once) keeps the memory. A process then stays near its peak use instead of shrinking between
bursts; its peak does not grow.
"""

from __future__ import annotations

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
def keep_freed_memory_for_reuse() -> bool:
    """Once per process; True if the thresholds were set. Only with glibc, and not when the
    person running the process tuned malloc themselves through the environment."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(os.environ.get(name) for name in TUNING_VARIABLES):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # Setting either turns off glibc's own adjusting of both, so both or neither: the mapping
        # threshold first, as the one glibc refuses above its limit (512 KiB on 32-bit systems).
        applied = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    except (OSError, AttributeError) as exc:
        log.debug("could not tune malloc (%s)", exc)
        return False
    return applied


def keep_loaded_objects_out_of_full_collections() -> None:
    """Python's full collections walk every object the process holds: after loading, ~70,000
    (modules, the index's vocabularies), and one took 76 ms in the middle of a burst of 64.
    Frozen, they are skipped (2.4 ms). Frozen objects are still freed once nothing refers to
    them; only a reference cycle among them would stay."""
    gc.freeze()
